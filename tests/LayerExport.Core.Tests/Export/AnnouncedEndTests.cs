using System.IO.Hashing;
using System.IO.Pipelines;
using System.Security.Cryptography;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tar;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>The last byte of an announced length leaves only once the export has found the body to be the one announced.</summary>
public sealed class AnnouncedEndTests : IDisposable
{
    private readonly TestLayerStore _store = new();
    private readonly LayerTree _layer;

    // The last entry passes the flush threshold, so everything written before the end-of-archive blocks is sent.
    public AnnouncedEndTests() => _layer = _store.AddLayer("layer").File("etc/config", "a=1\n").File("zz-last.bin", RandomNumberGenerator.GetBytes(256 * 1024));

    public void Dispose() => _store.Dispose();

    // A new small file adds a header and one data block: exactly the end-of-archive blocks' length, so the last entry
    // now ends where they should. Found only by the length check before those blocks, the entries would fill the
    // announced length but its last byte, and leave no room for the marker that makes a tar cut between entries fail
    // in tar readers.
    [Fact]
    public async Task ATarWhoseEntriesAloneWouldFillTheAnnouncedLengthFailsBeforeTheEntryThatPassesItsEndBlocks()
    {
        var announced = (await _store.ExportAsync("layer")).Length;

        _layer.File("etc/added", "x");
        var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(() => PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(announced, null))));

        var mismatch = Assert.IsType<LayerExportException>(failure.InnerException);
        Assert.Equal("zz-last.bin", mismatch.Path);
        Assert.IsType<TarMismatchException>(mismatch.InnerException);
        Assert.Equal(0, failure.Collected.Length % TarHeaderEncoder.BlockSize);
        Assert.True(failure.Collected.Length + IncompleteArchiveMarker.Length < announced, "no room is left for the marker");
    }

    // An extended attribute on the last file gives its entry a PAX header of two blocks, its data unchanged: the
    // entry ends where the end blocks should, past them by its header's length alone.
    [Fact]
    public async Task ALastEntryWhoseHeaderAloneGrowsByTheEndBlocksFailsBeforeIt()
    {
        var announced = (await _store.ExportAsync("layer")).Length;

        _layer.Xattr("zz-last.bin", "user.note", new string('n', 200));
        var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(() => PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(announced, null))));

        var mismatch = Assert.IsType<LayerExportException>(failure.InnerException);
        Assert.Equal("zz-last.bin", mismatch.Path);
        Assert.IsType<TarMismatchException>(mismatch.InnerException);
        Assert.True(failure.Collected.Length + IncompleteArchiveMarker.Length < announced, "no room is left for the marker");
    }

    // The new file's data passes the announced length long before the end of the archive is checked.
    [Fact]
    public async Task ATarThatGrowsPastTheAnnouncedLengthStopsBeforeReachingIt()
    {
        var announced = (await _store.ExportAsync("layer")).Length;

        _layer.File("etc/grown", RandomNumberGenerator.GetBytes(64 * 1024));
        var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(() => PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(announced, null))));

        Assert.IsType<LayerExportException>(failure.InnerException);
        Assert.InRange(failure.Collected.Length, 0, announced - 1);
    }

    [Fact]
    public async Task ACompressedBodyThatGrowsPastItsAnnouncedSizeStopsBeforeReachingIt()
    {
        var (body, _) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(null, null), LayerCompression.Gzip));

        _layer.File("etc/grown", RandomNumberGenerator.GetBytes(64 * 1024));
        var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(
            () => PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(null, null, body.Length), LayerCompression.Gzip)));

        Assert.IsType<LayerExportException>(failure.InnerException);
        Assert.InRange(failure.Collected.Length, 0, body.Length - 1);
    }

    // A file rewritten in place to the same size and times: only the announced diffID can tell.
    [Fact]
    public async Task ATarOfTheAnnouncedLengthWithAnotherDiffIdNeverDeliversThatLength()
    {
        var whole = await _store.ExportAsync("layer");
        var other = new LayerDigest("sha256:" + new string('e', 64));

        var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(() => PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(whole.Length, other))));

        Assert.IsType<LayerExportException>(failure.InnerException);
        Assert.InRange(failure.Collected.Length, 0, whole.Length - 1);
    }

    [Fact]
    public async Task AnUnchangedTarDeliversEveryAnnouncedByte()
    {
        var whole = await _store.ExportAsync("layer");

        var (sent, _) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(whole.Length, null)));

        Assert.Equal(whole, sent);
    }

    // The body's last byte is held back like the tar's; once the body is found right, it must leave too.
    [Theory]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task AnUnchangedCompressedBodyDeliversEveryAnnouncedByte(LayerCompression compression)
    {
        var (body, _) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(null, null), compression));

        var (sent, _) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(null, null, body.Length), compression));

        Assert.Equal(body, sent);
    }

    // The body's digest, checked before its last byte, fixes the tar: a diffID two places agree on is taken as given,
    // so this one, which is not the tar's, passes unhashed. Not corroborated, it is computed and found wrong.
    [Theory]
    [InlineData(LayerCompression.Gzip, true)]
    [InlineData(LayerCompression.Zstd, true)]
    [InlineData(LayerCompression.Gzip, false)]
    [InlineData(LayerCompression.Zstd, false)]
    public async Task OnlyACorroboratedDiffIdOfABodyWhoseDigestIsCheckedGoesUnhashed(LayerCompression compression, bool corroborated)
    {
        var (body, made) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(null, null), compression));
        var other = new LayerDigest("sha256:" + new string('e', 64));
        var expected = new ExpectedTar(made.Bytes, other, body.Length, made.Digest) { DiffIdCorroborated = corroborated, StateFingerprint = made.Fingerprint };

        if (corroborated)
        {
            var (sent, summary) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, expected, compression));
            Assert.Equal(body, sent);
            Assert.Equal(other, summary.DiffId);
        }
        else
        {
            var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(() => PipeCollector.CollectAsync(writer => ExportAsync(writer, expected, compression)));
            Assert.IsType<LayerExportException>(failure.InnerException);
            Assert.InRange(failure.Collected.Length, 0, body.Length - 1);
        }
    }

    // The body's digest fixes the tar only when there is one to check: a corroborated diffID announced without it,
    // here not the tar's, is still found by hashing the tar.
    [Theory]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task ACorroboratedDiffIdWithoutABodyDigestIsStillHeldToTheTarsHash(LayerCompression compression)
    {
        var (body, made) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(null, null), compression));
        var other = new LayerDigest("sha256:" + new string('e', 64));
        var expected = new ExpectedTar(made.Bytes, other, body.Length) { DiffIdCorroborated = true, StateFingerprint = made.Fingerprint };

        var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(() => PipeCollector.CollectAsync(writer => ExportAsync(writer, expected, compression)));

        var mismatch = Assert.IsType<LayerExportException>(failure.InnerException);
        Assert.Contains($"digest {made.DiffId} is not the announced {other}", mismatch.Message, StringComparison.Ordinal);
        Assert.InRange(failure.Collected.Length, 0, body.Length - 1);
    }

    // Without the announced state's fingerprint the walk has nothing to be held to before the end: the tar is hashed,
    // and an unchanged one is delivered whole.
    [Theory]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task ACorroboratedDiffIdWithoutTheStatesFingerprintIsHashedAndAnUnchangedBodyDelivered(LayerCompression compression)
    {
        var (body, made) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(null, null), compression));
        var expected = new ExpectedTar(made.Bytes, made.DiffId, body.Length, made.Digest) { DiffIdCorroborated = true };

        var (sent, summary) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, expected, compression));

        Assert.Equal(body, sent);
        Assert.Equal(made.DiffId, summary.DiffId);
    }

    // Unhashed, the tar is held to the body's digest alone: a body unlike it still never delivers its last byte.
    [Theory]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task AnUnhashedTarWhoseBodyIsNotTheAnnouncedOneNeverDeliversThatBody(LayerCompression compression)
    {
        var (body, made) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(null, null), compression));
        var other = new LayerDigest("sha256:" + new string('e', 64));
        var expected = new ExpectedTar(made.Bytes, made.DiffId, body.Length, other) { DiffIdCorroborated = true, StateFingerprint = made.Fingerprint };

        var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(() => PipeCollector.CollectAsync(writer => ExportAsync(writer, expected, compression)));

        Assert.IsType<LayerExportException>(failure.InnerException);
        Assert.InRange(failure.Collected.Length, 0, body.Length - 1);
    }

    // The body's digest is known only once all of it is made; the walk's fingerprint finds a changed layer before the
    // end-of-archive blocks, so nothing past the first flush has to leave first (a small body stays a problem response).
    [Theory]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task AnUnhashedTarOfAnotherLayerStateThanTheAnnouncedOneFailsBeforeItsEnd(LayerCompression compression)
    {
        var (body, made) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(null, null), compression));
        var expected = new ExpectedTar(made.Bytes, made.DiffId, body.Length, made.Digest) { DiffIdCorroborated = true, StateFingerprint = new string('0', 64) };

        var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(() => PipeCollector.CollectAsync(writer => ExportAsync(writer, expected, compression)));

        var mismatch = Assert.IsType<LayerExportException>(failure.InnerException);
        Assert.IsType<TarMismatchException>(mismatch.InnerException);
        Assert.Equal("(end of archive)", mismatch.Path);
    }

    // A plain tar of a layer state exported before is held to the check kept with its diffID, not to its SHA-256: a
    // diffID the tar does not have, sealed into the check with the tar's own checksum, goes through.
    [Fact]
    public async Task APlainTarOfAKnownStateIsHeldToItsKeptChecksumNotToItsSha256()
    {
        var (whole, made) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(null, null)));
        var other = new LayerDigest("sha256:" + new string('e', 64));
        var expected = new ExpectedTar(whole.Length, other) { StateFingerprint = made.Fingerprint, TarCheck = SealedChecksum.Seal(other, XxHash128.HashToUInt128(whole)) };

        var (sent, summary) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, expected));

        Assert.Equal(whole, sent);
        Assert.Equal(other, summary.DiffId);
        Assert.Equal(expected.TarCheck, summary.TarCheck);
    }

    // A compressed body of a layer state exported before is held to the check kept with its digest, not to its SHA-256:
    // a digest the body does not have, sealed into the check with the body's own checksum, goes through.
    [Theory]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task ACompressedBodyOfAKnownStateIsHeldToItsKeptChecksumNotToItsSha256(LayerCompression compression)
    {
        var (whole, made) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(null, null), compression));
        var other = new LayerDigest("sha256:" + new string('e', 64));
        var expected = new ExpectedTar(made.Bytes, made.DiffId, whole.Length, other)
        {
            StateFingerprint = made.Fingerprint,
            BodyCheck = SealedChecksum.Seal(other, XxHash128.HashToUInt128(whole)),
        };

        var (sent, summary) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, expected, compression));

        Assert.Equal(whole, sent);
        Assert.Equal(other, summary.Digest);
        Assert.Equal(expected.BodyCheck, summary.BodyCheck);
    }

    // As an entry damaged on disk leaves them: the check of other bytes, or a digest the check was not sealed with.
    [Theory]
    [InlineData(LayerCompression.Gzip, "checksum")]
    [InlineData(LayerCompression.Gzip, "digest")]
    [InlineData(LayerCompression.Zstd, "checksum")]
    [InlineData(LayerCompression.Zstd, "digest")]
    public async Task AKeptBodyChecksumThatIsNotTheBodysOrNotSealedWithTheAnnouncedDigestNeverDeliversTheBody(LayerCompression compression, string damaged)
    {
        var (whole, made) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(null, null), compression));
        var expected = damaged == "checksum"
            ? new ExpectedTar(made.Bytes, made.DiffId, whole.Length, made.Digest) { StateFingerprint = made.Fingerprint, BodyCheck = SealedChecksum.Seal(made.Digest, XxHash128.HashToUInt128(whole) + 1) }
            : new ExpectedTar(made.Bytes, made.DiffId, whole.Length, new LayerDigest("sha256:" + new string('e', 64))) { StateFingerprint = made.Fingerprint, BodyCheck = made.BodyCheck };

        var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(() => PipeCollector.CollectAsync(writer => ExportAsync(writer, expected, compression)));

        var mismatch = Assert.IsType<LayerExportException>(failure.InnerException);
        Assert.IsType<TarMismatchException>(mismatch.InnerException);
        Assert.Equal("(end of body)", mismatch.Path);
        Assert.InRange(failure.Collected.Length, 0, whole.Length - 1);
    }

    // The body's check is its XXH3-128 sealed with its digest, taken by every compressed export, hashed or not.
    [Theory]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task EveryCompressedExportSealsTheBodysChecksumWithItsDigest(LayerCompression compression)
    {
        var (whole, made) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(null, null), compression));

        Assert.Equal(LayerDigest.FromHash(SHA256.HashData(whole)), made.Digest);
        Assert.Equal(SealedChecksum.Seal(made.Digest, XxHash128.HashToUInt128(whole)), made.BodyCheck);
    }

    public static TheoryData<string> KeptCheckDamage => ["checksum", "diffID"];

    // As an entry damaged on disk leaves them: the check of other bytes, or a diffID the check was not sealed with.
    [Theory]
    [MemberData(nameof(KeptCheckDamage))]
    public async Task AKeptChecksumThatIsNotTheTarsOrNotSealedWithTheAnnouncedDiffIdNeverDeliversTheTar(string damaged)
    {
        var (whole, made) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(null, null)));
        var checksum = XxHash128.HashToUInt128(whole);
        var expected = damaged == "checksum"
            ? new ExpectedTar(whole.Length, made.DiffId) { StateFingerprint = made.Fingerprint, TarCheck = SealedChecksum.Seal(made.DiffId, checksum + 1) }
            : new ExpectedTar(whole.Length, new LayerDigest("sha256:" + new string('e', 64))) { StateFingerprint = made.Fingerprint, TarCheck = made.TarCheck };

        var failure = await Assert.ThrowsAsync<PipeCollector.CollectedException>(() => PipeCollector.CollectAsync(writer => ExportAsync(writer, expected)));

        var mismatch = Assert.IsType<LayerExportException>(failure.InnerException);
        Assert.IsType<TarMismatchException>(mismatch.InnerException);
        Assert.InRange(failure.Collected.Length, 0, whole.Length - 1);
    }

    // The check is the tar's XXH3-128 sealed with its diffID, whichever representation's export took it.
    [Theory]
    [InlineData(LayerCompression.None)]
    [InlineData(LayerCompression.Gzip)]
    [InlineData(LayerCompression.Zstd)]
    public async Task EveryExportSealsTheTarsChecksumWithItsDiffId(LayerCompression compression)
    {
        var whole = await _store.ExportAsync("layer");

        var (_, made) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(null, null), compression));

        var sealedBytes = new byte[71 + 16];
        System.Text.Encoding.ASCII.GetBytes("sha256:" + Convert.ToHexStringLower(SHA256.HashData(whole)), sealedBytes);
        System.Buffers.Binary.BinaryPrimitives.WriteUInt128LittleEndian(sealedBytes.AsSpan(71), XxHash128.HashToUInt128(whole));
        Assert.Equal(Convert.ToHexStringLower(XxHash128.Hash(sealedBytes)), made.TarCheck);
    }

    [Fact]
    public async Task AnAnnouncedTarLengthLeavesTheCompressedTarWhole()
    {
        var whole = await _store.ExportAsync("layer");

        var (sent, _) = await PipeCollector.CollectAsync(writer => ExportAsync(writer, new ExpectedTar(whole.Length, null), LayerCompression.Gzip));
        using var gunzip = new System.IO.Compression.GZipStream(new MemoryStream(sent), System.IO.Compression.CompressionMode.Decompress);
        using var tar = new MemoryStream();
        await gunzip.CopyToAsync(tar);

        Assert.Equal(whole, tar.ToArray());
    }

    private async Task<ExportSummary> ExportAsync(PipeWriter writer, ExpectedTar expected, LayerCompression compression = LayerCompression.None)
    {
        using var store = new NativeLayerStore(_store.Root);
        using var export = new LayerExporter(store).Prepare("layer", []);
        return await export.WriteAsync(compression, writer, expected, CancellationToken.None);
    }
}
