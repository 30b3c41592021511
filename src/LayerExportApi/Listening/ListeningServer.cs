using LayerExportApi.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace LayerExportApi.Listening;

/// <summary>The web server, whose failure to listen on its addresses stops start-up with one line that says why.</summary>
/// <remarks>
/// An address in use or not on this host, an HTTPS endpoint without a certificate, a URL Kestrel cannot parse: these
/// come from the settings and the host, not from a fault of the server, yet Kestrel reports them as exceptions from
/// deep in its bind. They are told as the other start-up checks are, with the addresses the server was given.
/// </remarks>
internal sealed class ListeningServer(IServer server) : IServer
{
    /// <inheritdoc />
    public IFeatureCollection Features => server.Features;

    /// <inheritdoc />
    public async Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
        where TContext : notnull
    {
        // Taken before the bind, which clears them; Kestrel's own messages do not always name the address.
        var addresses = server.Features.Get<IServerAddressesFeature>()?.Addresses.ToArray() ?? [];
        try
        {
            await server.StartAsync(application, cancellationToken).ConfigureAwait(false);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            var given = addresses.Length == 0 ? "" : $" (addresses: {string.Join(", ", addresses)})";
            throw new StartupCheckException($"the server cannot listen: {e.Message}{given}");
        }
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => server.StopAsync(cancellationToken);

    /// <summary>Nothing to release: the container disposes the server it made.</summary>
    public void Dispose()
    {
    }

    /// <summary>Puts this in front of the server the host registered, when that is a type the container builds.</summary>
    public static void Wrap(IServiceCollection services)
    {
        if (services.LastOrDefault(d => d.ServiceType == typeof(IServer)) is not { ImplementationType: { } type } registered)
        {
            return;
        }

        services.Remove(registered);
        services.Add(ServiceDescriptor.Singleton(type, type));
        services.AddSingleton<IServer>(provider => new ListeningServer((IServer)provider.GetRequiredService(type)));
    }
}
