using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>What is known of a layer state without exporting it: recorded diffIDs, descriptors of completed exports, last surveys.</summary>
public sealed class KnownDescriptorsTests : IDisposable
{
    private const string LayerId = "layer";

    private static readonly LayerDigest DiffId = new("sha256:" + new string('d', 64));
    private static readonly LayerDigest Digest = new("sha256:" + new string('c', 64));

    private readonly TestLayerStore _store = new();

    public KnownDescriptorsTests() => _store.AddLayer(LayerId).File("a.txt", "some layer file\n"u8.ToArray());

    public void Dispose() => _store.Dispose();

    [Fact]
    public void ARecordedDiffIdDescribesThePlainTarOnly()
    {
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = Descriptors(store, new DigestCache(directory: null), new CompressionOptions());
        var survey = new LayerSurvey(4096, 1, "fingerprint") { RecordedDiffId = DiffId };

        // The compressed bodies' digests are not in the record: they are known only once made.
        Assert.Equal(new LayerDescriptor(LayerMediaType.Tar, DiffId, 4096, DiffId), descriptors.TryGetKnown(LayerId, survey, LayerCompression.None));
        Assert.Null(descriptors.TryGetKnown(LayerId, survey, LayerCompression.Gzip));
        Assert.Null(descriptors.TryGetKnown(LayerId, survey, LayerCompression.Zstd));
    }

    // Once an export has seen the reassembled tar have its recorded diffID, the descriptor kept then carries the tar's
    // check (decision 0019); one kept under another digest is not the recorded tar's and is passed over.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void ARecordedDiffIdsTarIsDescribedWithTheCheckKeptWhenAnExportSawIt(bool keptUnderTheRecordedDiffId)
    {
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = Descriptors(store, new DigestCache(directory: null), new CompressionOptions());
        var survey = new LayerSurvey(4096, 1, "fingerprint") { RecordedDiffId = DiffId };
        var kept = keptUnderTheRecordedDiffId ? DiffId : Digest;

        descriptors.Record(LayerId, LayerCompression.None, new ExportSummary(4096, 1, kept, kept, 4096, "fingerprint") { TarCheck = "check" });

        var known = descriptors.TryGetKnown(LayerId, survey, LayerCompression.None);
        Assert.Equal(new LayerDescriptor(LayerMediaType.Tar, DiffId, 4096, DiffId) { TarCheck = keptUnderTheRecordedDiffId ? "check" : null }, known);
    }

    [Fact]
    public void ACompressedExportAlsoMakesItsPlainTarAndItsGzipIndexKnown()
    {
        using var store = new NativeLayerStore(_store.Root);
        var options = new CompressionOptions();
        using var descriptors = Descriptors(store, new DigestCache(directory: null), options);
        var index = new GzipBlockIndex(options.Gzip.BlockSize, [100], 7, 4096);
        var survey = new LayerSurvey(4096, 1, "fingerprint");

        descriptors.Record(LayerId, LayerCompression.Gzip, new ExportSummary(4096, 1, DiffId, Digest, 118, "fingerprint") { GzipIndex = index });

        // A gzip range is cut from the index; the plain tar's digest was hashed on the way and costs nothing to keep.
        Assert.Same(index, descriptors.TryGetKnown(LayerId, survey, LayerCompression.Gzip)?.GzipIndex);
        Assert.Equal(new LayerDescriptor(LayerMediaType.Tar, DiffId, 4096, DiffId), descriptors.TryGetKnown(LayerId, survey, LayerCompression.None));
    }

    [Fact]
    public void ForgettingALayerStateForgetsEveryRepresentation()
    {
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = Descriptors(store, new DigestCache(directory: null), new CompressionOptions());
        var survey = new LayerSurvey(4096, 1, "fingerprint");
        descriptors.Record(LayerId, LayerCompression.Zstd, new ExportSummary(4096, 1, DiffId, Digest, 118, "fingerprint"));

        descriptors.ForgetKnown(LayerId, "fingerprint");

        Assert.Null(descriptors.TryGetKnown(LayerId, survey, LayerCompression.Zstd));
        Assert.Null(descriptors.TryGetKnown(LayerId, survey, LayerCompression.None));
    }

    [Theory]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public void ADescriptorMadeAtAnotherLevelIsNotKnown(LayerCompression compression)
    {
        using var store = new NativeLayerStore(_store.Root);
        var cache = new DigestCache(directory: null);
        using var made = Descriptors(store, cache, new CompressionOptions { Gzip = { Level = 4 }, Zstd = { Level = 3 } });
        using var asked = Descriptors(store, cache, new CompressionOptions { Gzip = { Level = 6 }, Zstd = { Level = 9 } });
        var survey = new LayerSurvey(4096, 1, "fingerprint");

        made.Record(LayerId, compression, new ExportSummary(4096, 1, DiffId, Digest, 118, "fingerprint"));

        // The level changes the bytes, so a cache shared across a configuration change must not announce the old ones.
        Assert.NotNull(made.TryGetKnown(LayerId, survey, compression));
        Assert.Null(asked.TryGetKnown(LayerId, survey, compression));
    }

    [Theory]
    [InlineData(LayerCompression.None)]
    [InlineData(LayerCompression.Gzip)]
    public void WhatAnExportOfALayerChangedWithinTheSettleTimeMadeIsNotKept(LayerCompression compression)
    {
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = Descriptors(store, new DigestCache(directory: null), new CompressionOptions());
        var survey = new LayerSurvey(4096, 1, "fingerprint");

        // A write within the ctime's tick after the read would keep the fingerprint and change the bytes.
        var made = descriptors.Record(LayerId, compression, new ExportSummary(4096, 1, DiffId, Digest, 118, "fingerprint") { UnchangedFor = LayerDescriptors.DefaultSettleTime - TimeSpan.FromTicks(1) });

        Assert.Equal(Digest, made.Digest);
        Assert.Null(descriptors.TryGetKnown(LayerId, survey, compression));
        Assert.Null(descriptors.TryGetKnown(LayerId, survey, LayerCompression.None));
    }

    [Fact]
    public void WhatAnExportOfALayerUnchangedForTheSettleTimeMadeIsKept()
    {
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = Descriptors(store, new DigestCache(directory: null), new CompressionOptions());
        var survey = new LayerSurvey(4096, 1, "fingerprint");

        descriptors.Record(LayerId, LayerCompression.Zstd, new ExportSummary(4096, 1, DiffId, Digest, 118, "fingerprint") { UnchangedFor = LayerDescriptors.DefaultSettleTime });

        Assert.Equal(Digest, descriptors.TryGetKnown(LayerId, survey, LayerCompression.Zstd)?.Digest);
    }

    [Fact]
    public void ASettleTimeOfZeroKeepsWhatAnExportOfALayerChangedAsItBeganMade()
    {
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = new LayerDescriptors(new LayerExporter(store), new DigestCache(directory: null), new CompressionOptions()) { SettleTime = TimeSpan.Zero };
        var survey = new LayerSurvey(4096, 1, "fingerprint");

        descriptors.Record(LayerId, LayerCompression.Zstd, new ExportSummary(4096, 1, DiffId, Digest, 118, "fingerprint") { UnchangedFor = TimeSpan.Zero });

        Assert.Equal(Digest, descriptors.TryGetKnown(LayerId, survey, LayerCompression.Zstd)?.Digest);
    }

    [Fact]
    public void OnlyAPlainTarOfTheSameDiffIdAndTheSurveyedLengthCorroboratesACompressedBody()
    {
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = Descriptors(store, new DigestCache(directory: null), new CompressionOptions());
        var survey = new LayerSurvey(4096, 1, "fingerprint");
        var zstd = new LayerDescriptor(LayerMediaType.For(LayerCompression.Zstd), Digest, 118, DiffId);
        Assert.False(descriptors.Corroborates(LayerId, survey, zstd));

        descriptors.Record(LayerId, LayerCompression.Zstd, new ExportSummary(4096, 1, DiffId, Digest, 118, "fingerprint"));

        // The plain tar's entry and the body's are written together: a damaged one disagrees with the other.
        Assert.True(descriptors.Corroborates(LayerId, survey, zstd));
        Assert.False(descriptors.Corroborates(LayerId, survey, zstd with { DiffId = Digest }));
        Assert.False(descriptors.Corroborates(LayerId, survey with { TarSize = 4608 }, zstd));
        Assert.True(descriptors.Corroborates(LayerId, new LayerSurvey(4096, 1, "recorded") { RecordedDiffId = DiffId }, zstd));
    }

    [Fact]
    public void RememberingAnotherLayersSurveyKeepsTheFirst()
    {
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = Descriptors(store, new DigestCache(directory: null), new CompressionOptions());
        var first = new LayerSurvey(1024, 0, "first");
        var second = new LayerSurvey(2048, 1, "second");

        descriptors.RememberSurvey("one", first);
        descriptors.RememberSurvey("two", second);

        Assert.Equal(first, descriptors.LastSurvey("one"));
        Assert.Equal(second, descriptors.LastSurvey("two"));
    }

    [Fact]
    public async Task ATarCheckedAgainstItsRecordedDiffIdWhileTheLayerChangedIsAChange()
    {
        using var store = new NativeLayerStore(_store.Root);
        using var descriptors = Descriptors(store, new DigestCache(directory: null), new CompressionOptions());

        // The tar made is recorded under the state it read, which is not the surveyed one.
        var stale = new LayerSurvey(4096, 1, "a state the layer has left") { RecordedDiffId = DiffId };

        var failure = await Assert.ThrowsAsync<LayerChangedException>(() => descriptors.VerifyRecordedAsync(LayerId, stale, CancellationToken.None));
        Assert.Contains("changed while its tar was checked", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void DisposingTwiceIsHarmless()
    {
        using var store = new NativeLayerStore(_store.Root);
        var descriptors = Descriptors(store, new DigestCache(directory: null), new CompressionOptions());

        descriptors.Dispose();
        descriptors.Dispose();

        Assert.Equal(0, descriptors.RunningCount);
    }

    private static LayerDescriptors Descriptors(ILayerStore store, DigestCache cache, CompressionOptions options) =>
        new(new LayerExporter(store), cache, options);
}
