using System.Net;
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

    private ApiServer(string storeRoot, Action<IServiceCollection>? configureServices, string environment, IReadOnlyDictionary<string, string>? settings)
    {
        _baseFactory = new WebApplicationFactory<Program>();
        _factory = _baseFactory.WithWebHostBuilder(builder =>
        {
            builder.UseEnvironment(environment);
            builder.UseSetting("LayerStore:Root", storeRoot);
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
        _factory.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        _factory.StartServer();

        var addresses = _factory.Services.GetRequiredService<IServer>().Features.GetRequiredFeature<IServerAddressesFeature>().Addresses;
        BaseAddress = new Uri(Assert.Single(addresses));
        Assert.Equal(IPAddress.Loopback.ToString(), BaseAddress.Host);
    }

    /// <summary>Every log event of this host.</summary>
    public CapturedLogs Logs { get; } = new();

    /// <summary>The Kestrel address, <c>http://127.0.0.1:&lt;port&gt;/</c>.</summary>
    public Uri BaseAddress { get; }

    public IServiceProvider Services => _factory.Services;

    /// <summary>
    /// Starts a host over <paramref name="storeRoot"/>, in the Production environment unless told otherwise, with
    /// further configuration <paramref name="settings"/> (such as <c>LayerStore:Layout</c>).
    /// </summary>
    public static ApiServer Start(
        string storeRoot,
        Action<IServiceCollection>? configureServices = null,
        string? environment = null,
        IReadOnlyDictionary<string, string>? settings = null) =>
        new(storeRoot, configureServices, environment ?? Environments.Production, settings);

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
