using System.IO.Compression;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;
using LayerExport.Core.TarSplit;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>A reassembled layer's state is its files and its tar-split record: a record edited to rebuild another tar of the same length is another state.</summary>
public sealed class RecordedStateTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public async Task ARecordEditedToTheSameLengthIsAnotherFingerprintAndItsDigestIsComputedAgain()
    {
        var (id, original) = await RecordLayerAsync(withDigest: false);
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var descriptors = new LayerDescriptors(new LayerExporter(store), new DigestCache(directory: null), new CompressionOptions());
        var before = Survey(store, id);
        var first = await descriptors.GetAsync(id, before, LayerCompression.Gzip, CancellationToken.None);

        RetimeFirstFileHeader(RecordPath(id));
        var after = Survey(store, id);
        var edited = await TarExport.ToBytesAsync(store, id, CancellationToken.None);
        var second = await descriptors.GetAsync(id, after, LayerCompression.Gzip, CancellationToken.None);

        Assert.Equal(original.Length, edited.Length);
        Assert.NotEqual(original, edited);
        Assert.Equal(before.TarSize, after.TarSize);
        Assert.NotEqual(before.Fingerprint, after.Fingerprint);
        Assert.Equal("sha256:" + Sha256(edited), second.DiffId.Value);
        Assert.NotEqual(first.Digest, second.Digest);
    }

    [Fact]
    public async Task ARecordRewrittenAfterTheSurveyFailsTheExport()
    {
        var (id, _) = await RecordLayerAsync(withDigest: false);
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var export = SurveyedExport(store, id);

        RetimeFirstFileHeader(RecordPath(id));
        var failure = await FailedTarAsync(export);

        Assert.IsType<LayerChangedException>(failure.InnerException?.InnerException);
    }

    [Fact]
    public async Task ARecordWhoseFileAloneChangedIsTheSameState()
    {
        var (id, original) = await RecordLayerAsync(withDigest: false);
        using var store = new ContainersStorageLayerStore(_root.Path);
        var before = Survey(store, id);
        using var export = SurveyedExport(store, id);

        // What a relabel, a backup restoring times or a store copying its files does: new inode, ctime and mtime, same bytes.
        Replace(RecordPath(id), File.ReadAllBytes(RecordPath(id)));
        Posix.ChangeMode(RecordPath(id), Convert.ToInt32("400", 8));
        Posix.SetModificationTime(RecordPath(id), 981_173_106, 0);
        var (tar, _) = await PipeCollector.CollectAsync(output => export.WriteTarAsync(output, CancellationToken.None));

        Assert.Equal(before.Fingerprint, Survey(store, id).Fingerprint);
        Assert.Equal(original, tar);
    }

    // A survey an earlier request took stands for the export: the tar comes from the record it measured, each file held
    // to the record, so the layer is not walked again and what is made is kept under that survey's fingerprint, even when
    // a ctime moved since (a chmod leaves the reassembled tar as it was).
    [Fact]
    public async Task AnAssumedSurveyIsTheExportsOwnAndTheLayerIsNotWalkedAgain()
    {
        var (id, original) = await RecordLayerAsync(withDigest: true);
        using var store = new ContainersStorageLayerStore(_root.Path);
        var earlier = Survey(store, id);
        Posix.ChangeMode(Path.Combine(_root.Path, "overlay", id, "diff", "a.txt"), Convert.ToInt32("600", 8));
        using var export = new LayerExporter(store).Prepare(id, []);

        Assert.True(export.TryAssume(earlier));
        var (tar, summary) = await PipeCollector.CollectAsync(output => export.WriteTarAsync(output, CancellationToken.None));

        Assert.Equal(original, tar);
        Assert.Equal(earlier.Fingerprint, summary.Fingerprint);
        Assert.NotEqual(earlier.Fingerprint, Survey(store, id).Fingerprint);
    }

    [Fact]
    public async Task ARecordRewrittenSinceTheAssumedSurveyFailsTheExportAsAChange()
    {
        var (id, _) = await RecordLayerAsync(withDigest: false);
        using var store = new ContainersStorageLayerStore(_root.Path);
        var earlier = Survey(store, id);
        RetimeFirstFileHeader(RecordPath(id));
        using var export = new LayerExporter(store).Prepare(id, []);

        Assert.True(export.TryAssume(earlier));
        var failure = await FailedTarAsync(export);

        Assert.IsType<LayerChangedException>(failure.InnerException?.InnerException);
    }

    // Unhashed, a reassembled tar is held to the check kept for the state surveyed, which a write that keeps a file's
    // size and CRC-64 (anyone can make one) might pass: a file whose ctime moved since the survey fails such an export
    // as a change, before its last bytes. A hashed export is held to the store's diffID by SHA-256 and still delivers.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AFileChangedSinceTheAssumedSurveyFailsAnExportHeldToTheKeptCheckAndNotOneHashed(bool heldToTheKeptCheck)
    {
        var (id, original) = await RecordLayerAsync(withDigest: true);
        using var store = new ContainersStorageLayerStore(_root.Path);
        var earlier = Survey(store, id);
        var file = Path.Combine(_root.Path, "overlay", id, "diff", "a.txt");
        for (var mode = 0; Posix.Stat(file).CtimeNanoseconds <= earlier.NewestChangeNanoseconds; mode ^= 1)
        {
            // Until the clock has ticked past the newest ctime the survey met, as it has after any settled state.
            Posix.ChangeMode(file, Convert.ToInt32(mode == 0 ? "600" : "644", 8));
        }

        using var export = new LayerExporter(store).Prepare(id, []);
        Assert.True(export.TryAssume(earlier));
        var diffId = new LayerDigest("sha256:" + Sha256(original));
        var expected = new ExpectedTar(original.Length, diffId)
        {
            StateFingerprint = earlier.Fingerprint,
            TarCheck = heldToTheKeptCheck ? SealedChecksum.Seal(diffId, System.IO.Hashing.XxHash128.HashToUInt128(original)) : null,
        };

        var made = PipeCollector.CollectAsync(output => export.WriteAsync(LayerCompression.None, output, expected, CancellationToken.None));

        if (heldToTheKeptCheck)
        {
            var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(() => made);
            Assert.IsType<LayerChangedException>(failure.InnerException?.InnerException);
            Assert.InRange(failure.Collected.Length, 0, original.Length - 1);
        }
        else
        {
            Assert.Equal(original, (await made).Bytes);
        }
    }

    // Only a survey that measured a record can stand for a reassembled export: one made without (by hand, or of the
    // layer's files alone) leaves the export to survey the layer itself.
    [Fact]
    public async Task ASurveyWithoutTheRecordItMeasuredIsNotAssumedForAReassembledLayer()
    {
        var (id, _) = await RecordLayerAsync(withDigest: true);
        using var store = new ContainersStorageLayerStore(_root.Path);
        var surveyed = Survey(store, id);
        using var export = new LayerExporter(store).Prepare(id, []);

        Assert.False(export.TryAssume(new LayerSurvey(surveyed.TarSize, surveyed.Entries, surveyed.Fingerprint) { RecordedDiffId = surveyed.RecordedDiffId }));
        Assert.True(export.TryAssume(surveyed));
    }

    // The survey would announce, and the export check, a diffID the store no longer records: the export surveys afresh.
    [Fact]
    public async Task ASurveyOfTheDiffIdTheStoreRecordedBeforeIsNotAssumedForAReassembledLayer()
    {
        var (id, _) = await RecordLayerAsync(withDigest: true);
        using var before = new ContainersStorageLayerStore(_root.Path);
        var earlier = Survey(before, id);
        var layers = _root.Combine("overlay-layers/layers.json");
        File.WriteAllText(layers, File.ReadAllText(layers).Replace(earlier.RecordedDiffId!.Value.Value, "sha256:" + new string('e', 64), StringComparison.Ordinal));
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var export = new LayerExporter(store).Prepare(id, []);

        Assert.False(export.TryAssume(earlier));
    }

    // What the log of an aborted export reports: the reassembler's count, not the unused generator's.
    [Fact]
    public async Task TheProgressOfAReassembledExportIsItsBytesAndEntries()
    {
        var (id, original) = await RecordLayerAsync(withDigest: true);
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var export = SurveyedExport(store, id);

        var (_, summary) = await PipeCollector.CollectAsync(output => export.WriteTarAsync(output, CancellationToken.None));

        Assert.Equal(original.Length, export.Progress.BytesWritten);
        Assert.Equal(summary.Entries, export.Progress.EntriesWritten);
        Assert.NotEqual(0, summary.Entries);
    }

    [Fact]
    public async Task ARecordThatNoLongerRebuildsTheRecordedDiffIdIsCaughtBeforeARangeIsServedUnderIt()
    {
        var (id, _) = await RecordLayerAsync(withDigest: true);
        RetimeFirstFileHeader(RecordPath(id));
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var descriptors = new LayerDescriptors(new LayerExporter(store), new DigestCache(directory: null), new CompressionOptions());
        var survey = Survey(store, id);

        var failure = await Assert.ThrowsAsync<LayerExportException>(() => descriptors.VerifyRecordedAsync(id, survey, CancellationToken.None));

        var inconsistent = Assert.IsType<LayerStoreCorruptException>(failure.InnerException);
        Assert.Contains("is not the announced", inconsistent.Message, StringComparison.Ordinal);
    }

    // A plain entry kept under the state's key with another digest (a damaged cache file) is no proof that an export
    // saw the tar have the recorded diffID: the check is still made before a range goes out under it.
    [Fact]
    public async Task AKeptPlainEntryOfAnotherDigestDoesNotStandForTheCheckOfTheRecordedDiffId()
    {
        var (id, _) = await RecordLayerAsync(withDigest: true);
        RetimeFirstFileHeader(RecordPath(id));
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var descriptors = new LayerDescriptors(new LayerExporter(store), new DigestCache(directory: null), new CompressionOptions());
        var survey = Survey(store, id);
        var other = new LayerDigest("sha256:" + new string('e', 64));
        descriptors.Record(id, LayerCompression.None, new ExportSummary(survey.TarSize, 1, other, other, survey.TarSize, survey.Fingerprint));

        var failure = await Assert.ThrowsAsync<LayerExportException>(() => descriptors.VerifyRecordedAsync(id, survey, CancellationToken.None));

        Assert.IsType<LayerStoreCorruptException>(failure.InnerException);
    }

    [Fact]
    public async Task ThePlainDescriptorOfARecordThatNoLongerRebuildsTheRecordedDiffIdIsAnInconsistentStore()
    {
        var (id, _) = await RecordLayerAsync(withDigest: true);
        RetimeFirstFileHeader(RecordPath(id));
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var descriptors = new LayerDescriptors(new LayerExporter(store), new DigestCache(directory: null), new CompressionOptions());

        var failure = await Assert.ThrowsAsync<LayerExportException>(() => descriptors.GetAsync(id, Survey(store, id), LayerCompression.None, CancellationToken.None));

        Assert.IsType<LayerStoreCorruptException>(failure.InnerException);
    }

    [Fact]
    public async Task EachStateFoundNotToRebuildItsRecordedDiffIdIsNoLongerAnnouncedUnderIt()
    {
        var (id, _) = await RecordLayerAsync(withDigest: true);
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var descriptors = new LayerDescriptors(new LayerExporter(store), new DigestCache(directory: null), new CompressionOptions());
        RetimeFirstFileHeader(RecordPath(id));
        var first = Survey(store, id);
        await Assert.ThrowsAsync<LayerExportException>(() => descriptors.VerifyRecordedAsync(id, first, CancellationToken.None));

        // A second such state must not push the first out while there is room for both.
        RetimeFirstFileHeader(RecordPath(id));
        var second = Survey(store, id);
        await Assert.ThrowsAsync<LayerExportException>(() => descriptors.VerifyRecordedAsync(id, second, CancellationToken.None));

        Assert.NotEqual(first.Fingerprint, second.Fingerprint);
        Assert.Null(descriptors.TryGetKnown(id, first, LayerCompression.None));
        Assert.Null(descriptors.TryGetKnown(id, second, LayerCompression.None));
    }

    [Fact]
    public async Task ThePlainDescriptorOfAnIntactRecordIsTheRecordedDiffId()
    {
        var (id, tar) = await RecordLayerAsync(withDigest: true);
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var descriptors = new LayerDescriptors(new LayerExporter(store), new DigestCache(directory: null), new CompressionOptions());

        var descriptor = await descriptors.GetAsync(id, Survey(store, id), LayerCompression.None, CancellationToken.None);

        Assert.Equal("sha256:" + Sha256(tar), descriptor.Digest.Value);
        Assert.Equal(tar.Length, descriptor.Size);
    }

    [Fact]
    public async Task WhatAnExportOfAJustRecordedLayerMadeIsKeptAtOnce()
    {
        var (id, _) = await RecordLayerAsync(withDigest: true);
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var descriptors = new LayerDescriptors(new LayerExporter(store), new DigestCache(directory: null), new CompressionOptions());
        var survey = Survey(store, id);

        // Every file is held to its recorded size and CRC-64 as it is read: no write its ctime hides can pass unseen.
        var made = await descriptors.GetAsync(id, survey, LayerCompression.Gzip, CancellationToken.None);

        Assert.Equal(made.Digest, descriptors.TryGetKnown(id, survey, LayerCompression.Gzip)?.Digest);
    }

    [Fact]
    public async Task AnIntactRecordIsCheckedOnceForItsRanges()
    {
        var (id, _) = await RecordLayerAsync(withDigest: true);
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var descriptors = new LayerDescriptors(new LayerExporter(store), new DigestCache(directory: null), new CompressionOptions());
        var survey = Survey(store, id);

        await descriptors.VerifyRecordedAsync(id, survey, CancellationToken.None);
        File.Delete(Path.Combine(_root.Path, "overlay", id, "diff", "a.txt"));
        await descriptors.VerifyRecordedAsync(id, survey, CancellationToken.None);
    }

    [Fact]
    public async Task ATarThatIsNotTheRecordedOneWhileTheLayerMovedIsAChange()
    {
        var (id, _) = await RecordLayerAsync(withDigest: true);
        RetimeFirstFileHeader(RecordPath(id));
        using var inner = new ContainersStorageLayerStore(_root.Path);
        var file = Path.Combine(_root.Path, "overlay", id, "diff", "a.txt");
        var store = new StoreChangingOnSecondWalk(inner, () => Posix.ChangeMode(file, Convert.ToInt32("600", 8)));
        using var export = SurveyedExport(store, id);

        var failure = await FailedTarAsync(export);

        // The walk after the failure finds a file changed: 503 layer-changing, which a retry may get past.
        Assert.IsType<LayerChangedException>(failure.InnerException?.InnerException);
    }

    [Fact]
    public async Task ARangeMadeFromAnotherRecordFailsEvenWhenTheRecordIsBackBeforeTheWalkAfterIt()
    {
        var (id, original) = await RecordLayerAsync(withDigest: true);
        var surveyed = await File.ReadAllBytesAsync(RecordPath(id));
        using var inner = new ContainersStorageLayerStore(_root.Path);
        var store = new StoreChangingOnSecondWalk(inner, () => Replace(RecordPath(id), surveyed));
        using var export = SurveyedExport(store, id);

        RetimeFirstFileHeader(RecordPath(id));
        var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(
            () => PipeCollector.CollectAsync(async output =>
            {
                await export.WriteTarRangeAsync(output, 0, original.Length, CancellationToken.None);
                return true;
            }));

        Assert.IsType<LayerChangedException>(failure.InnerException);
        Assert.True(failure.Collected.Length < original.Length, "the whole range went out");
    }

    [Fact]
    public async Task AFileOfTheRecordMissingSinceBeforeTheSurveyIsAnInconsistentStore()
    {
        var (id, _) = await RecordLayerAsync(withDigest: false);
        File.Delete(Path.Combine(_root.Path, "overlay", id, "diff", "a.txt"));
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var export = new LayerExporter(store).Prepare(id, []);

        // The layer is not changing, so every retry would fail alike: the store's fault, not a change, found before any byte.
        var failure = Assert.Throws<LayerStoreCorruptException>(() => export.Survey(CancellationToken.None));

        Assert.Contains("a.txt: cannot open 'a.txt' in the unpacked layer", failure.Message, StringComparison.Ordinal);
    }

    // The store's diffID stands in only for an announcement the caller did not make.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task AReassembledTarIsCheckedAgainstWhatItsCallerAnnounced(bool length)
    {
        var (id, tar) = await RecordLayerAsync(withDigest: true);
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var export = SurveyedExport(store, id);
        var announced = length ? new ExpectedTar(tar.Length + 512, null) : new ExpectedTar(null, new LayerDigest("sha256:" + new string('e', 64)));

        var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(
            () => PipeCollector.CollectAsync(output => export.WriteAsync(LayerCompression.None, output, announced, CancellationToken.None)));

        Assert.IsType<LayerExportException>(failure.InnerException);
    }

    [Fact]
    public async Task AnExportOfAnotherRecordIsAChangeEvenWhenTheRecordIsBackBeforeTheWalkAfterIt()
    {
        var (id, _) = await RecordLayerAsync(withDigest: false);
        var surveyed = await File.ReadAllBytesAsync(RecordPath(id));
        using var inner = new ContainersStorageLayerStore(_root.Path);
        var store = new StoreChangingOnSecondWalk(inner, () => Replace(RecordPath(id), surveyed));
        using var export = SurveyedExport(store, id);

        RetimeFirstFileHeader(RecordPath(id));
        var failure = await FailedTarAsync(export);

        // 503 layer-changing, not 500 store-inconsistent: the record read was not the one surveyed, whatever is there now.
        Assert.IsType<LayerChangedException>(failure.InnerException?.InnerException);
    }

    [Fact]
    public async Task ARecordThatStopsParsingBecauseItWasRewrittenIsAChange()
    {
        var (id, _) = await RecordLayerAsync(withDigest: false);
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var export = SurveyedExport(store, id);

        // What a reader sees of a record rewritten in place while it reads: another record's bytes, cut anywhere.
        using (var compressed = new MemoryStream())
        {
            using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
            {
                gzip.Write("{\"type\":2,\"payload\":\"AAAA\n"u8);
            }

            Replace(RecordPath(id), compressed.ToArray());
        }

        var failure = await FailedTarAsync(export);

        // 503 layer-changing, which a retry gets past once the writer is done, not a 500 that says the layer is broken.
        Assert.IsType<LayerChangedException>(failure.InnerException?.InnerException);
    }

    [Fact]
    public async Task ASurveyThatMeetsARecordBeingRewrittenIsAChange()
    {
        var (id, _) = await RecordLayerAsync(withDigest: false);
        var whole = await File.ReadAllBytesAsync(RecordPath(id));
        Replace(RecordPath(id), Gzip("{\"type\":2,\"payload\":\"AAAA\n"u8));
        using var inner = new ContainersStorageLayerStore(_root.Path);
        var store = new StoreChangingOnSecondWalk(inner, () => Replace(RecordPath(id), whole));
        using var export = new LayerExporter(store).Prepare(id, []);

        // The writer is done by the second look: 503 layer-changing, which the next walk gets past.
        Assert.Throws<LayerChangedException>(() => export.Survey(CancellationToken.None));
        Assert.Equal(Survey(inner, id).Fingerprint, export.Survey(CancellationToken.None).Fingerprint);
    }

    [Fact]
    public async Task ASurveyThatFindsTheRecordGoneUntilItsSecondLookIsAChange()
    {
        var (id, _) = await RecordLayerAsync(withDigest: false);
        var whole = await File.ReadAllBytesAsync(RecordPath(id));
        using var inner = new ContainersStorageLayerStore(_root.Path);
        var store = new StoreChangingOnSecondWalk(inner, () => File.WriteAllBytes(RecordPath(id), whole));
        using var export = new LayerExporter(store).Prepare(id, []);
        File.Delete(RecordPath(id));

        // Back by the second look: 503 layer-changing, which a retry gets past, not a 500 for a missing file.
        Assert.Throws<LayerChangedException>(() => export.Survey(CancellationToken.None));
    }

    [Fact]
    public async Task ASurveyThatFindsTheRecordGoneOnBothLooksWhileAFileChangesIsAChange()
    {
        var (id, _) = await RecordLayerAsync(withDigest: false);
        using var inner = new ContainersStorageLayerStore(_root.Path);
        var file = Path.Combine(_root.Path, "overlay", id, "diff", "a.txt");
        var store = new StoreChangingOnSecondWalk(inner, () => Posix.ChangeMode(file, Convert.ToInt32("600", 8)));
        using var export = new LayerExporter(store).Prepare(id, []);
        File.Delete(RecordPath(id));

        // What a layer being removed looks like: the walk, not the missing record, tells the second look from the first.
        Assert.Throws<LayerChangedException>(() => export.Survey(CancellationToken.None));
    }

    [Fact]
    public async Task ASurveyThatMeetsARecordStillBeingWrittenOnItsSecondLookIsAChange()
    {
        var (id, _) = await RecordLayerAsync(withDigest: false);
        Replace(RecordPath(id), Gzip("{\"type\":2,\"payload\":\"AAAA\n"u8));
        using var inner = new ContainersStorageLayerStore(_root.Path);
        var store = new StoreChangingOnSecondWalk(inner, () => Replace(RecordPath(id), Gzip("{\"type\":2,\"payload\":\"AAAAAAAA\n"u8)));
        using var export = new LayerExporter(store).Prepare(id, []);

        Assert.Throws<LayerChangedException>(() => export.Survey(CancellationToken.None));
    }

    [Fact]
    public async Task ASurveyOfARecordThatDoesNotParseTwiceAlikeIsNoChange()
    {
        var (id, _) = await RecordLayerAsync(withDigest: false);
        Replace(RecordPath(id), Gzip("{\"type\":2,\"payload\":\"AAAA\n"u8));
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var export = new LayerExporter(store).Prepare(id, []);

        // A retry would fail the same way: 500 layer-unreadable, as before any judgement.
        Assert.Throws<TarSplitRecordException>(() => export.Survey(CancellationToken.None));
    }

    // An export that has taken its survey, as the tar endpoint's does before the body starts.
    private static PreparedExport SurveyedExport(ILayerStore store, string id)
    {
        var export = new LayerExporter(store).Prepare(id, []);
        export.Survey(CancellationToken.None);
        return export;
    }

    private static Task<PipeCollector.CollectedException> FailedTarAsync(PreparedExport export) =>
        Assert.ThrowsAsync<PipeCollector.CollectedException>(() => PipeCollector.CollectAsync(output => export.WriteTarAsync(output, CancellationToken.None)));

    private static LayerSurvey Survey(ILayerStore store, string id)
    {
        using var export = new LayerExporter(store).Prepare(id, []);
        return export.Survey(CancellationToken.None);
    }

    // One small file, GNU tar's archive of it, tar-split's record and the unpacked file, as containers/storage keeps them.
    private async Task<(string Id, byte[] Tar)> RecordLayerAsync(bool withDigest)
    {
        var id = Sha256(Encoding.UTF8.GetBytes("recorded"));
        var source = Directory.CreateDirectory(_root.Combine("source")).FullName;
        await File.WriteAllTextAsync(Path.Combine(source, "a.txt"), "hello\n");
        var files = Directory.CreateDirectory(_root.Combine($"overlay/{id}/diff")).FullName;
        Directory.CreateDirectory(_root.Combine("overlay-layers"));
        var tarPath = _root.Combine("layer.tar");
        await ExternalTool.RunCheckedAsync("tar", "--format=gnu", "-C", source, "-cf", tarPath, "a.txt");
        await ExternalTool.RunCheckedAsync("tar-split", "disasm", "--no-stdout", "--output", RecordPath(id), tarPath);
        await ExternalTool.RunCheckedAsync("tar", "-C", files, "-xf", tarPath);
        var tar = await File.ReadAllBytesAsync(tarPath);
        var layer = new Dictionary<string, object> { ["id"] = id };
        if (withDigest)
        {
            layer["diff-digest"] = "sha256:" + Sha256(tar);
        }

        await File.WriteAllTextAsync(_root.Combine("overlay-layers/layers.json"), JsonSerializer.Serialize(new[] { layer }));
        return (id, tar);
    }

    private string RecordPath(string id) => _root.Combine($"overlay-layers/{id}.tar-split.gz");

    // Moves the last mtime digit of the first file header and fixes its checksum: another tar of the same length.
    private static void RetimeFirstFileHeader(string record)
    {
        var lines = Encoding.UTF8.GetString(Decompress(File.ReadAllBytes(record))).Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            if (lines[i].Length == 0 || JsonNode.Parse(lines[i]) is not JsonObject entry || (int)entry["type"]! != 2 || entry["payload"] is null)
            {
                continue;
            }

            var segment = Convert.FromBase64String((string)entry["payload"]!);
            var header = segment.AsSpan(0, 512);
            header[146] = (byte)('0' + ((header[146] - '0' + 1) % 8));
            header[148..156].Fill((byte)' ');
            var sum = 0;
            foreach (var b in header)
            {
                sum += b;
            }

            Encoding.ASCII.GetBytes(Convert.ToString(sum, 8).PadLeft(6, '0') + "\0 ").CopyTo(header[148..156]);
            entry["payload"] = Convert.ToBase64String(segment);
            lines[i] = entry.ToJsonString();
            using var compressed = new MemoryStream();
            using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal))
            {
                gzip.Write(Encoding.UTF8.GetBytes(string.Join('\n', lines)));
            }

            Replace(record, compressed.ToArray());
            return;
        }

        throw new InvalidOperationException("the record has no segment");
    }


    // A new file renamed over the old one, as stores write: a new inode, whatever the clock's granularity.
    private static void Replace(string path, byte[] content)
    {
        File.WriteAllBytes(path + ".new", content);
        File.Move(path + ".new", path, overwrite: true);
    }

    private static byte[] Gzip(ReadOnlySpan<byte> text)
    {
        using var compressed = new MemoryStream();
        using (var gzip = new GZipStream(compressed, CompressionLevel.Optimal, leaveOpen: true))
        {
            gzip.Write(text);
        }

        return compressed.ToArray();
    }

    private static byte[] Decompress(byte[] gzip)
    {
        using var input = new GZipStream(new MemoryStream(gzip), CompressionMode.Decompress);
        using var output = new MemoryStream();
        input.CopyTo(output);
        return output.ToArray();
    }

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
