using System.Security.Cryptography;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>A descriptor computation is shared by whoever waits for it; once nobody does, it goes on only within an allowance; its result is kept under what makes its bytes.</summary>
public sealed class LayerDescriptorsTests : IDisposable
{
    private const string LayerId = "layer";

    private readonly TestLayerStore _store = new();

    public LayerDescriptorsTests() => _store.AddLayer(LayerId).File("big.bin", RandomNumberGenerator.GetBytes(64 * 1024 * 1024));

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task BeyondTheAllowanceTheLastWaiterToLeaveStopsTheComputation()
    {
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = Descriptors(store, maxAbandoned: 0);
        var survey = Survey(store);
        using var leaving = new CancellationTokenSource();

        var asking = descriptors.GetAsync(LayerId, survey, LayerCompression.Zstd, leaving.Token);
        Assert.Equal(1, descriptors.RunningCount);
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => asking);

        Assert.Equal(0, descriptors.RunningCount);
        Assert.Null(descriptors.TryGetKnown(LayerId, survey, LayerCompression.Zstd));
    }

    [Fact]
    public async Task WithinTheAllowanceAnAbandonedComputationGoesOnForTheNextRequest()
    {
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = Descriptors(store, maxAbandoned: 1);
        var survey = Survey(store);
        using var leaving = new CancellationTokenSource();

        // A client that timed out, then asks again: it finds the same computation still running.
        var asking = descriptors.GetAsync(LayerId, survey, LayerCompression.Zstd, leaving.Token);
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => asking);
        Assert.Equal(1, descriptors.RunningCount);
        var descriptor = await descriptors.GetAsync(LayerId, survey, LayerCompression.Zstd, CancellationToken.None);

        Assert.Equal(descriptor, descriptors.TryGetKnown(LayerId, survey, LayerCompression.Zstd));
        Assert.Equal(0, descriptors.RunningCount);
    }

    [Fact]
    public async Task AnAbandonedComputationJoinedAgainFreesItsPlaceInTheAllowanceOnceDone()
    {
        _store.AddLayer("other").File("big.bin", RandomNumberGenerator.GetBytes(64 * 1024 * 1024));
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = Descriptors(store, maxAbandoned: 1);
        var survey = Survey(store);
        var otherSurvey = Survey(store, "other");
        await AbandonAsync(descriptors, LayerId, survey, LayerCompression.Zstd);
        await descriptors.GetAsync(LayerId, survey, LayerCompression.Zstd, CancellationToken.None);

        // Counted once while abandoned and no more once taken up again: the next abandoned one goes on, the one after it does not.
        await AbandonAsync(descriptors, LayerId, survey, LayerCompression.Gzip);
        Assert.Equal(1, descriptors.RunningCount);
        await AbandonAsync(descriptors, "other", otherSurvey, LayerCompression.Zstd);
        Assert.Equal(1, descriptors.RunningCount);
    }

    [Fact]
    public async Task AWaiterThatLeavesDoesNotStopTheComputationForTheOthers()
    {
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = Descriptors(store, maxAbandoned: 0);
        var survey = Survey(store);
        using var leaving = new CancellationTokenSource();

        var first = descriptors.GetAsync(LayerId, survey, LayerCompression.Gzip, leaving.Token);
        var second = descriptors.GetAsync(LayerId, survey, LayerCompression.Gzip, CancellationToken.None);
        Assert.Equal(1, descriptors.RunningCount);
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => first);
        var descriptor = await second;

        Assert.Equal(descriptor, descriptors.TryGetKnown(LayerId, survey, LayerCompression.Gzip));
        Assert.Equal(0, descriptors.RunningCount);
    }

    [Fact]
    public async Task AComputationStoppedByTheShutdownTellsItsWaitersThatTheServiceIsStopping()
    {
        using var store = new NativeLayerStore(_store.Root);
        var descriptors = Descriptors(store, maxAbandoned: 0);
        var survey = Survey(store);

        var asking = descriptors.GetAsync(LayerId, survey, LayerCompression.Zstd, CancellationToken.None);
        Assert.Equal(1, descriptors.RunningCount);
        descriptors.Dispose();

        await Assert.ThrowsAsync<ServiceStoppingException>(() => asking);
    }

    [Fact]
    public async Task OnceTheServiceBeginsToStopARunningComputationFinishesButNoNewOneStarts()
    {
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = Descriptors(store, maxAbandoned: 0);
        var survey = Survey(store);

        var running = descriptors.GetAsync(LayerId, survey, LayerCompression.Gzip, CancellationToken.None);
        descriptors.StopStarting();
        var joining = descriptors.GetAsync(LayerId, survey, LayerCompression.Gzip, CancellationToken.None);

        await Assert.ThrowsAsync<ServiceStoppingException>(() => descriptors.GetAsync(LayerId, survey, LayerCompression.Zstd, CancellationToken.None));
        Assert.Equal(await running, await joining);
        Assert.NotNull(descriptors.TryGetKnown(LayerId, survey, LayerCompression.Gzip));
    }

    [Fact]
    public async Task NoComputationStartsOnceTheServiceIsStopping()
    {
        using var store = new NativeLayerStore(_store.Root);
        var descriptors = Descriptors(store, maxAbandoned: 0);
        var survey = Survey(store);
        descriptors.Dispose();

        await Assert.ThrowsAsync<ServiceStoppingException>(() => descriptors.GetAsync(LayerId, survey, LayerCompression.Gzip, CancellationToken.None));
        Assert.Equal(0, descriptors.RunningCount);
    }

    [Fact]
    public async Task AGzipDescriptorIsKeyedByTheRuntimeThatCompressedIt()
    {
        // A host that rolls the shared runtime forward may get other gzip bytes from its zlib-ng; a descriptor of the
        // old ones must not answer for them.
        _store.AddLayer("small").File("a.txt", "a\n").SetAllTimes(1_600_000_000);
        using var store = new NativeLayerStore(_store.Root);
        var cache = new DigestCache(directory: null);
        using var descriptors = new LayerDescriptors(new LayerExporter(store), cache, new CompressionOptions()) { SettleTime = TimeSpan.Zero };
        var survey = Survey(store, "small");

        var computed = await descriptors.GetAsync("small", survey, LayerCompression.Gzip, CancellationToken.None);

        Assert.True(cache.TryGet(DigestCache.Key("small", survey.Fingerprint, $"gzip/level=2/block=1048576/runtime={Environment.Version}"), out var cached));
        Assert.Equal(computed.Digest, cached.Digest);
    }

    // Each computation nobody waits for holds a whole export's memory outside the export slots: a large machine's
    // core count must not multiply them.
    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(4, 4)]
    [InlineData(5, 4)]
    [InlineData(128, 4)]
    public void ComputationsGoOnForNobodyOnePerCoreButNeverMoreThanFour(int cores, int abandoned) =>
        Assert.Equal(abandoned, LayerDescriptors.AbandonedOn(cores));

    // The layers are made a moment before: kept at once, as a settled layer's are.
    private static LayerDescriptors Descriptors(ILayerStore store, int maxAbandoned) =>
        new(new LayerExporter(store), new DigestCache(directory: null), new CompressionOptions()) { MaxAbandoned = maxAbandoned, SettleTime = TimeSpan.Zero };

    private static LayerSurvey Survey(ILayerStore store, string layerId = LayerId)
    {
        using var export = new LayerExporter(store).Prepare(layerId, []);
        return export.Survey(CancellationToken.None);
    }

    // Asks for a descriptor, then leaves as a client that timed out does.
    private static async Task AbandonAsync(LayerDescriptors descriptors, string layerId, LayerSurvey survey, LayerCompression compression)
    {
        using var leaving = new CancellationTokenSource();
        var asking = descriptors.GetAsync(layerId, survey, compression, leaving.Token);
        await leaving.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => asking);
    }
}
