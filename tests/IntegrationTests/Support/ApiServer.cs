using System.Net;
using LayerExport.TestSupport;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog.Core;

namespace IntegrationTests.Support;

/// <summary>The API on a real Kestrel bound to 127.0.0.1 with a random port, over a store the test built.</summary>
internal sealed class ApiServer : IAsyncDisposable
{
    private readonly WebApplicationFactory<Program> _baseFactory;
    private readonly WebApplicationFactory<Program> _factory;

    private ApiServer(string storeRoot, Action<IServiceCollection>? configureServices, string environment, IReadOnlyDictionary<string, string>? settings, bool listenInCode)
    {
        _baseFactory = new WebApplicationFactory<Program>();
        _factory = _baseFactory.WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment(environment);
            builder.UseSetting("LayerStore:Root", storeRoot);
            builder.UseSetting("DigestCache:SettleTime", TestSettings.SettledAtOnce);
            foreach (var (key, value) in settings ?? new Dictionary<string, string>())
            {
                builder.UseSetting(key, value);
            }

            builder.ConfigureTestServices(services =>
            {
                services.AddSingleton<ILogEventSink>(Logs);
                configureServices?.Invoke(services);
            });
        });

        // Not UseKestrel(0): a derived factory (WithWebHostBuilder) drops that port, and set on the base factory
        // too, the port is written into the server's address list while the minimal-API Program may already be
        // starting the server, which throws "Addresses cannot be modified after the server has started" or also
        // binds the Program's default address (both seen here). Kestrel applies a listen option when it binds.
        // Without a listen call in code, Kestrel binds the addresses the server's own listener setup gives it
        // (the "urls" setting, Listen:UnixSocketPath), as in production.
        if (listenInCode)
        {
            _factory.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        }
        else
        {
            _factory.UseKestrel();
        }

        _factory.StartServer();

        Addresses = [.. _factory.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses];
        if (listenInCode)
        {
            BaseAddress = new Uri(Assert.Single(Addresses));
            Assert.Equal(IPAddress.Loopback.ToString(), BaseAddress.Host);
        }
        else
        {
            BaseAddress = new Uri(Addresses.FirstOrDefault(a => a.StartsWith("http://127.0.0.1:", StringComparison.Ordinal)) ?? "http://localhost/");
        }
    }

    /// <summary>Every address the server bound, such as <c>http://unix:/path</c> for a Unix domain socket.</summary>
    public IReadOnlyList<string> Addresses { get; }

    /// <summary>Every log event of this host.</summary>
    public CapturedLogs Logs { get; } = new();

    /// <summary>The Kestrel address, <c>http://127.0.0.1:&lt;port&gt;/</c>.</summary>
    public Uri BaseAddress { get; }

    public IServiceProvider Services => _factory.Services;

    /// <summary>Stops the host as SIGTERM would: no new connections, running requests get the shutdown timeout.</summary>
    public Task StopAsync() => _factory.Services.GetRequiredService<IHost>().StopAsync();

    /// <summary>
    /// Starts a host over <paramref name="storeRoot"/>, in the Production environment unless told otherwise, with
    /// further configuration <paramref name="settings"/> (such as <c>LayerStore:Layout</c>). With
    /// <paramref name="listenInCode"/> false the settings say where to listen (<c>urls</c>, <c>Listen:*</c>).
    /// </summary>
    public static ApiServer Start(
        string storeRoot,
        Action<IServiceCollection>? configureServices = null,
        string? environment = null,
        IReadOnlyDictionary<string, string>? settings = null,
        bool listenInCode = true) =>
        new(storeRoot, configureServices, environment ?? Environments.Production, settings, listenInCode);

    /// <summary>A plain client of the Kestrel address, with its own connection pool.</summary>
    public HttpClient CreateClient() => new() { BaseAddress = BaseAddress };

    /// <summary>The absolute URL of <paramref name="pathAndQuery"/> on this server.</summary>
    public string Url(string pathAndQuery) => new Uri(BaseAddress, pathAndQuery).ToString();

    public async ValueTask DisposeAsync()
    {
        await _factory.DisposeAsync();
        await _baseFactory.DisposeAsync();
    }
}
