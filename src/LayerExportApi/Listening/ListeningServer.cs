using LayerExportApi.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;

namespace LayerExportApi.Listening;

/// <summary>The web server, whose failure to listen on its addresses stops start-up with one line that says why.</summary>
/// <remarks>
/// An address in use or not on this host, an HTTPS endpoint without a certificate, a URL Kestrel cannot parse: these
/// come from the settings and the host, not from a fault of the server, yet Kestrel reports them as exceptions from
/// deep in its bind. They are told as the other start-up checks are, with the addresses the server was given or the
/// Kestrel endpoints and certificate files configured, and for HTTPS without a certificate the settings that give one.
/// </remarks>
internal sealed class ListeningServer(IServer server, IConfiguration configuration, IHostEnvironment environment) : IServer
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
            var settings = KestrelEndpointSettings.Read(configuration, environment.ContentRootPath);

            // Kestrel's next lines tell how to make a developer's certificate, which is no server's.
            var reason = e is InvalidOperationException && settings.HttpsLacksACertificate(addresses)
                ? $"{e.Message.Split('\n')[0].TrimEnd()} {KestrelEndpointSettings.CertificateHint}"
                : Reason(e);
            var given = settings.Describe(addresses) is { Length: > 0 } described ? $" ({described})" : "";
            throw new StartupCheckException($"the server cannot listen: {reason}{given}");
        }
    }

    /// <inheritdoc />
    public Task StopAsync(CancellationToken cancellationToken) => server.StopAsync(cancellationToken);

    /// <summary>Nothing to release: the container disposes the server it made.</summary>
    public void Dispose()
    {
    }

    // Kestrel wraps some causes (a key that does not match its certificate) in a message that does not say them.
    private static string Reason(Exception e)
    {
        var reason = e.Message;
        for (var inner = e.InnerException; inner is not null; inner = inner.InnerException)
        {
            if (!reason.Contains(inner.Message, StringComparison.OrdinalIgnoreCase))
            {
                reason = $"{reason} {inner.Message}";
            }
        }

        return reason;
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
        services.AddSingleton<IServer>(provider => new ListeningServer(
            (IServer)provider.GetRequiredService(type),
            provider.GetRequiredService<IConfiguration>(),
            provider.GetRequiredService<IHostEnvironment>()));
    }
}
