using System.Collections.ObjectModel;
using LayerExportApi.Listening;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;

namespace IntegrationTests.Listening;

/// <summary>The addresses the listener setup gives the server before it binds: the urls setting, the default, the socket.</summary>
public sealed class ListenerSetupTests : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("listener-setup-");

    private string SocketPath => Path.Combine(_directory.FullName, "api.sock");

    public void Dispose() => _directory.Delete(recursive: true);

    [Fact]
    public async Task EveryUrlOfTheSettingIsListenedOnTrimmedBesideTheSocket()
    {
        // The socket's address would otherwise keep the host from applying the urls setting itself.
        var addresses = await AddressesAsync(new() { ["urls"] = " http://127.0.0.1:0 ; http://127.0.0.1:8080;" }, new() { UnixSocketPath = SocketPath });

        Assert.Equal(["http://127.0.0.1:0", "http://127.0.0.1:8080", $"http://unix:{SocketPath}"], addresses);
    }

    [Fact]
    public async Task WithNoAddressConfiguredItListensOnTheLoopbackAlone()
    {
        // Not Kestrel's own default, localhost, which is every loopback address.
        Assert.Equal(["http://127.0.0.1:5000"], await AddressesAsync([], new()));
    }

    [Theory]
    [InlineData("")]
    [InlineData(" ")]
    [InlineData(";")]
    [InlineData(" ; ")]
    public async Task AnEmptyUrlsSettingIsNoAddressAndGetsTheDefault(string urls) =>
        Assert.Equal([ListeningOptions.DefaultUrl, $"http://unix:{SocketPath}"], await AddressesAsync(new() { ["urls"] = urls }, new() { UnixSocketPath = SocketPath }));

    [Fact]
    public async Task EndpointsInTheKestrelSectionGetNoDefaultAddressBesideThem()
    {
        // Kestrel would bind its endpoints anyway, and warn that it ignores the default given beside them.
        Assert.Empty(await AddressesAsync(new() { ["Kestrel:Endpoints:Http:Url"] = "http://127.0.0.1:0" }, new()));
    }

    [Fact]
    public async Task SocketOnlyGivesTheSocketAlone() =>
        Assert.Equal([$"http://unix:{SocketPath}"], await AddressesAsync([], new() { UnixSocketPath = SocketPath, UnixSocketOnly = true }));

    [Fact]
    public async Task AServerWhoseAddressesAreFixedOrAbsentIsLeftAlone()
    {
        var options = Options.Create(new ListeningOptions { UnixSocketPath = SocketPath });
        var fixedAddresses = new ServerWith(new FixedAddresses());

        await new ListenerSetup(fixedAddresses, Configuration([]), options, NullLogger<ListenerSetup>.Instance).StartingAsync(CancellationToken.None);
        await new ListenerSetup(new ServerWith(null), Configuration([]), options, NullLogger<ListenerSetup>.Instance).StartingAsync(CancellationToken.None);

        Assert.Empty(fixedAddresses.Features.GetRequiredFeature<IServerAddressesFeature>().Addresses);
    }

    // ASP.NET Core's container images set ASPNETCORE_HTTP_PORTS=8080: every interface, without tokens, unasked for.
    [Theory]
    [InlineData("http_ports", "8080", "ASPNETCORE_HTTP_PORTS ('8080') and ASPNETCORE_HTTPS_PORTS ('') are not listened on")]
    [InlineData("https_ports", "8443", "ASPNETCORE_HTTP_PORTS ('') and ASPNETCORE_HTTPS_PORTS ('8443') are not listened on")]
    public async Task ThePortsSettingsAreNotListenedOnAndTheLogSaysSo(string key, string ports, string warning)
    {
        var logger = new RecordingLogger();

        var addresses = await AddressesAsync(new() { [key] = ports }, new(), logger);

        Assert.Equal([ListeningOptions.DefaultUrl], addresses);
        Assert.StartsWith(warning, Assert.Single(logger.Warnings), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ThePortsSettingsBesideTheUrlsSettingAreNotWarnedOfAgain()
    {
        // The host itself says that the urls override them.
        var logger = new RecordingLogger();

        var addresses = await AddressesAsync(new() { ["urls"] = "http://127.0.0.1:0", ["http_ports"] = "8080" }, new(), logger);

        Assert.Equal(["http://127.0.0.1:0"], addresses);
        Assert.Empty(logger.Warnings);
    }

    private static async Task<IReadOnlyList<string>> AddressesAsync(Dictionary<string, string?> settings, ListeningOptions options, ILogger<ListenerSetup>? logger = null)
    {
        var feature = new ServerAddressesFeature();
        await new ListenerSetup(new ServerWith(feature), Configuration(settings), Options.Create(options), logger ?? NullLogger<ListenerSetup>.Instance)
            .StartingAsync(CancellationToken.None);
        return [.. feature.Addresses];
    }

    private static IConfiguration Configuration(Dictionary<string, string?> settings) =>
        new ConfigurationBuilder().AddInMemoryCollection(settings).Build();

    private sealed class RecordingLogger : ILogger<ListenerSetup>
    {
        public List<string> Warnings { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            if (logLevel == LogLevel.Warning)
            {
                Warnings.Add(formatter(state, exception));
            }
        }
    }

    private sealed class FixedAddresses : IServerAddressesFeature
    {
        public ICollection<string> Addresses { get; } = new ReadOnlyCollection<string>([]);

        public bool PreferHostingUrls { get; set; }
    }

    private sealed class ServerWith : IServer
    {
        public ServerWith(IServerAddressesFeature? addresses)
        {
            if (addresses is not null)
            {
                Features.Set(addresses);
            }
        }

        public IFeatureCollection Features { get; } = new FeatureCollection();

        public Task StartAsync<TContext>(IHttpApplication<TContext> application, CancellationToken cancellationToken)
            where TContext : notnull => throw new NotSupportedException();

        public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

        public void Dispose()
        {
        }
    }
}
