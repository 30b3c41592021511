using System.IO.Hashing;
using System.IO.Pipelines;
using System.Security.Cryptography;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>
/// A reassembled tar of a layer state exported before is held, like a generated one, to the check kept with the store's
/// diffID (decision 0019) or to the compressed body's digest (decision 0017), not to its SHA-256; any other diffID is
/// still hashed, and a kept check the tar does not meet is the check's fault, not the store's.
/// </summary>
public sealed class ReassembledTarCheckTests : IAsyncLifetime, IDisposable
{
    private static readonly LayerDigest Other = new("sha256:" + new string('e', 64));

    private readonly TempDirectory _root = new();
    private string _chain = "";
    private byte[] _tar = [];

    public async Task InitializeAsync() => (_chain, _tar) = await DockerDataRoot.AddLayerAsync(_root.Path, "layer", parent: null, "--format=gnu");

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _root.Dispose();

    // The store records a diffID the tar does not have: only a tar that is not hashed can be delivered under it.
    [Fact]
    public async Task AReassembledTarOfAKnownStateIsHeldToItsKeptChecksumNotToItsSha256()
    {
        RecordDiffId(Other);

        var (sent, summary) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, fingerprint =>
            new ExpectedTar(_tar.Length, Other) { StateFingerprint = fingerprint, TarCheck = SealedChecksum.Seal(Other, XxHash128.HashToUInt128(_tar)) }));

        Assert.Equal(_tar, sent);
        Assert.Equal(Other, summary.DiffId);
    }

    // The check stands in for the store's diffID alone: one sealed with another diffID is not taken, and the tar's own
    // SHA-256 is then held to the store's.
    [Fact]
    public async Task ACheckSealedWithAnotherDiffIdThanTheStoresIsNotTaken()
    {
        var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(() => PipeCollector.CollectAsync(writer => ExportAsync(writer, fingerprint =>
            new ExpectedTar(_tar.Length, Other) { StateFingerprint = fingerprint, TarCheck = SealedChecksum.Seal(Other, XxHash128.HashToUInt128(_tar)) })));

        Assert.Contains($"is not the announced {Other}", failure.InnerException!.ToString(), StringComparison.Ordinal);
        Assert.InRange(failure.Collected.Length, 0, _tar.Length - 1);
    }

    // As a damaged kept entry leaves it: the tar never delivers its last bytes, and the failure names a mismatch the
    // caller forgets the kept check for, not a store whose files do not rebuild its diffID. (A state other than the one
    // read is not held to the kept check at all: see below.)
    [Fact]
    public async Task AKeptCheckTheReassembledTarDoesNotMeetFailsItAsAMismatchNotAsTheStoresFault()
    {
        var diffId = new LayerDigest("sha256:" + Convert.ToHexStringLower(SHA256.HashData(_tar)));

        var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(() => PipeCollector.CollectAsync(writer => ExportAsync(writer, fingerprint =>
            new ExpectedTar(_tar.Length, diffId) { StateFingerprint = fingerprint, TarCheck = SealedChecksum.Seal(diffId, XxHash128.HashToUInt128(_tar) + 1) })));

        var exception = Assert.IsType<LayerExportException>(failure.InnerException);
        Assert.IsType<TarMismatchException>(exception.InnerException);
        Assert.InRange(failure.Collected.Length, 0, _tar.Length - 1);
    }

    // A body with the kept digest holds the tar kept with it: the store's diffID, now one the tar does not have, is
    // taken unhashed, as for a generated tar.
    [Theory]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task AReassembledTarWhoseCompressedBodyIsCheckedIsNotHashed(LayerCompression compression)
    {
        var (body, made) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, static _ => null, compression));
        RecordDiffId(Other);

        var (sent, summary) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, fingerprint =>
            new ExpectedTar(made.Bytes, Other, body.Length, made.Digest) { DiffIdCorroborated = true, StateFingerprint = fingerprint }, compression));

        Assert.Equal(body, sent);
        Assert.Equal(Other, summary.DiffId);
    }

    // A whole download may announce the survey an earlier request took (LayerStore:Access:ReuseLastSurvey). A file
    // replaced since then by a copy of itself (another inode, as a chmod moves the ctime alone) leaves a reassembled tar
    // as it was: its bytes come from the record and the files' content. The check kept for that earlier state does not stand in for the state read now, so the tar
    // is hashed and held to the store's diffID, and delivered, as before the kept check was taken for reassembled tars.
    [Theory]
    [InlineData(LayerCompression.None)]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task ATarAnnouncedFromAnEarlierSurveyOfAStateThatMovedSinceIsHeldToTheStoresDiffIdAndDelivered(LayerCompression compression)
    {
        var (body, made) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, static _ => null, compression));
        var file = _root.Combine($"overlay2/{DockerDataRoot.CacheId("layer")}/diff/etc/config.txt");
        File.Copy(file, file + ".copy");
        File.Move(file + ".copy", file, overwrite: true);
        var plain = compression == LayerCompression.None;
        var announced = new ExpectedTar(made.Bytes, made.DiffId, plain ? null : body.Length, plain ? null : made.Digest)
        {
            DiffIdCorroborated = !plain,
            StateFingerprint = made.Fingerprint,
            TarCheck = plain ? made.TarCheck : null,
        };

        using var store = new DockerLayerStore(_root.Path);
        using var export = new LayerExporter(store).Prepare(_chain, []);
        var (sent, summary) = await PipeCollector.CollectAsync(writer => export.WriteAsync(compression, writer, announced, CancellationToken.None));

        Assert.Equal(body, sent);
        Assert.NotEqual(made.Fingerprint, summary.Fingerprint);
    }

    private void RecordDiffId(LayerDigest diffId) =>
        File.WriteAllText(_root.Combine($"image/overlay2/layerdb/sha256/{_chain}/diff"), diffId.Value);

    // The expectation is made from the export's own survey: the state the announcement would be of.
    private async Task<ExportSummary> ExportAsync(PipeWriter writer, Func<string, ExpectedTar?> expected, LayerCompression compression = LayerCompression.None)
    {
        using var store = new DockerLayerStore(_root.Path);
        using var export = new LayerExporter(store).Prepare(_chain, []);
        return await export.WriteAsync(compression, writer, expected(export.Survey(CancellationToken.None).Fingerprint), CancellationToken.None);
    }
}
