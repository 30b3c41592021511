using System.Net;
using LayerExportApi.Limits;
using Microsoft.Extensions.DependencyInjection;

namespace IntegrationTests.Support;

/// <summary>An <see cref="ApiServer"/> over one layer whose export holds at its second file until the test releases it.</summary>
internal sealed class HeldExportServer : IAsyncDisposable
{
    public const string Layer = "held";
    public const string HeldEntry = "b/held.bin";
    public const string TarPath = $"/layers/{Layer}/tar";

    private readonly TempLayerStore _store;
    private BlockingLayerStore? _blocking;

    private HeldExportServer(IReadOnlyDictionary<string, string> settings)
    {
        _store = TempLayerStore.Create()
            .AddLayer(Layer)
            .AddFile(Layer, "a/first.txt", "first\n"u8.ToArray())
            .AddPatternFile(Layer, HeldEntry, 100_000);
        try
        {
            Server = ApiServer.Start(
                _store.Root,
                services => services.DecorateLayerStore(inner => _blocking = new BlockingLayerStore(inner, HeldEntry)),
                settings: settings);
        }
        catch
        {
            // No one gets a server to dispose, so the store would be left in the temp directory.
            _store.Dispose();
            throw;
        }
    }

    public ApiServer Server { get; }

    public BlockingLayerStore Blocking => _blocking ?? throw new InvalidOperationException("store not decorated");

    public ExportGate Gate => Server.Services.GetRequiredService<ExportGate>();

    /// <summary>The store's directory, for a second server over the same layer.</summary>
    public string StoreRoot => _store.Root;

    /// <summary>Starts a server with the Limits <paramref name="settings"/> a test class needs.</summary>
    public static HeldExportServer Start(IReadOnlyDictionary<string, string> settings) => new(settings);

    public static async Task<(HttpStatusCode Status, byte[] Body)> DownloadAsync(HttpClient client, string path, CancellationToken cancellationToken = default)
    {
        using var response = await client.GetAsync(new Uri(path, UriKind.Relative), cancellationToken);
        return (response.StatusCode, await response.Content.ReadAsByteArrayAsync(cancellationToken));
    }

    public static void WaitUntil(Func<bool> condition, string description) =>
        Assert.True(SpinWait.SpinUntil(condition, CapturedLogs.SafetyTimeout), $"timed out waiting until {description}");

    public async ValueTask DisposeAsync()
    {
        // A test that failed before releasing leaves an export held, and the server's stop would wait for it.
        _blocking?.Release();
        await Server.DisposeAsync();
        _store.Dispose();
    }
}
