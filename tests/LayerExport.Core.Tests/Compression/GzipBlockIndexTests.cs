using LayerExport.Core.Compression;

namespace LayerExport.Core.Tests.Compression;

/// <summary>The index locates body offsets in blocks and gives back the trailer a resumed body ends with.</summary>
public sealed class GzipBlockIndexTests
{
    [Fact]
    public void TheTrailerIsTheCrcThenTheTarLengthModulo2To32LittleEndian()
    {
        // A tar past 4 GiB: RFC 1952's ISIZE keeps only the low 32 bits.
        var index = new GzipBlockIndex(1024, [5, 7], 0x04030201, (1L << 32) + 0x08070605);

        Assert.Equal([0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08], index.Trailer());
    }

    // Cache files keep it: the value, made with Python's hashlib and struct, must not move, or every kept index is lost.
    [Fact]
    public void TheChecksumIsTheSha256OfBlockSizeTarLengthCrcAndLengthsLittleEndian()
    {
        var index = new GzipBlockIndex(1024, [5, 7], 0x04030201, (1L << 32) + 0x08070605);

        Assert.Equal("d9bb7d852a762d4679f8d6c460213dc77dd4ae08e0873fb1027bca8f06ea5a61", index.Checksum());
    }
}
