using System.Net;
using LayerExport.TestSupport;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.Extensions.DependencyInjection;

namespace SidecarTests.Infrastructure;

/// <summary>The API on a real Kestrel in this process, listening on 127.0.0.1 on a random port.</summary>
internal sealed class ApiServer : IDisposable
{
    private readonly Factory _factory;

    /// <summary>Starts a server over <paramref name="storeRoot"/> with its digest cache in <paramref name="digestCacheDirectory"/>.</summary>
    public ApiServer(string storeRoot, string digestCacheDirectory, IReadOnlyDictionary<string, string>? settings = null)
    {
        _factory = new Factory(storeRoot, digestCacheDirectory, settings ?? new Dictionary<string, string>());

        // Not UseKestrel(0): it sets the port by rewriting the server's address list after the host is built, while
        // Program's own RunAsync may already be starting Kestrel on another thread. Under load that throws
        // "Addresses cannot be modified after the server has started" or leaves the app on its default
        // 127.0.0.1:5000, shared between tests. A listen option is read by Kestrel itself when it binds.
        _factory.UseKestrel(options => options.Listen(IPAddress.Loopback, 0));
        _factory.StartServer();
        var addresses = _factory.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses;
        BaseAddress = new Uri(Assert.Single(addresses));
    }

    public Uri BaseAddress { get; }

    /// <summary>A client with one connection: requests run one after another (see <see cref="LoopbackHttp.CreateSequentialClient"/>).</summary>
    public HttpClient CreateClient() => LoopbackHttp.CreateSequentialClient(BaseAddress);

    public void Dispose() => _factory.Dispose();

    private sealed class Factory(string storeRoot, string digestCacheDirectory, IReadOnlyDictionary<string, string> settings) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            builder.UseSetting("LayerStore:Root", storeRoot);
            builder.UseSetting("DigestCache:Directory", digestCacheDirectory);
            builder.UseSetting("DigestCache:SettleTime", TestSettings.SettledAtOnce);
            foreach (var (key, value) in settings)
            {
                builder.UseSetting(key, value);
            }
        }
    }
}
