using System.Security.Cryptography;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>A record's digest is of the bytes its entries come from: whatever follows the gzip stream is not read, however large.</summary>
public sealed class TarSplitRecordDigestTests
{
    private static readonly byte[] Compressed = SyntheticRecord.Compress(
    [
        SyntheticRecord.Segment(new byte[1024], 0),
        """{"type":2,"payload":"","position":1}""",
    ]);

    [Fact]
    public void TheDigestIsOfTheGzipStreamAndNoTailIsReadPastIt()
    {
        // A sparse tail costs the store nothing; reading it would cost every survey of the layer its whole length.
        var tailed = new TailedStream(Compressed, tail: 4L << 30);
        using var record = new TarSplitRecord(tailed, leaveOpen: false);

        Assert.Equal(1024, TarSplitAssembler.MeasureTarLength(record, CancellationToken.None));
        var digest = record.ReadDigest();

        Assert.True(tailed.BytesRead < Compressed.Length + (1 << 20), $"{tailed.BytesRead} bytes read for a {Compressed.Length}-byte record");
        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(tailed.FirstBytes)), digest.Value);
    }

    [Fact]
    public void TheDigestIsTheSameForTheSameRecordAndAnotherForAnother()
    {
        Assert.Equal(DigestOf(Compressed), DigestOf([.. Compressed]));
        Assert.NotEqual(DigestOf(Compressed), DigestOf(SyntheticRecord.Compress([SyntheticRecord.Segment(new byte[1536], 0)])));
    }

    [Fact]
    public void TheDigestIsKnownOnlyOnceEveryEntryWasRead()
    {
        using var record = SyntheticRecord.Open(Compressed);
        Assert.True(record.TryRead(out _));

        Assert.Throws<InvalidOperationException>(() => record.ReadDigest());
    }

    // Its only line read, the record's end has not been seen yet: bytes after the line may still come.
    [Fact]
    public void TheDigestIsNotKnownBeforeTheEndOfARecordOfOneLine()
    {
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress(SyntheticRecord.Segment(new byte[512], 0) + "\n"));
        Assert.True(record.TryRead(out _));

        Assert.Throws<InvalidOperationException>(() => record.ReadDigest());
        Assert.False(record.TryRead(out _));
        Assert.NotNull(record.ReadDigest().Value);
    }

    private static string DigestOf(byte[] compressed)
    {
        using var record = SyntheticRecord.Open(compressed);
        TarSplitAssembler.MeasureTarLength(record, CancellationToken.None);
        return record.ReadDigest().Value;
    }

    // The record's bytes followed by a tail of zeros that takes no memory; keeps the first bytes read for the digest's check.
    private sealed class TailedStream(byte[] head, long tail) : Stream
    {
        private const int Kept = 8 << 20;
        private readonly MemoryStream _read = new();

        public long BytesRead { get; private set; }

        public byte[] FirstBytes => _read.ToArray();

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => throw new NotSupportedException();

        public override long Position { get => throw new NotSupportedException(); set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count)
        {
            var position = BytesRead;
            var available = head.Length + tail - position;
            var n = (int)Math.Min(count, available);
            for (var i = 0; i < n; i++)
            {
                buffer[offset + i] = position + i < head.Length ? head[position + i] : (byte)0;
            }

            _read.Write(buffer, offset, (int)Math.Clamp(Kept - _read.Length, 0, n));
            BytesRead += n;
            return n;
        }

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                _read.Dispose();
            }

            base.Dispose(disposing);
        }
    }
}
