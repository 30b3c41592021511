using System.Buffers;
using System.Text;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Tar;

/// <summary>Every block the encoder writes is wholly its own: nothing of what the output's memory held before shows through.</summary>
public sealed class TarHeaderEncoderTests
{
    // A pipe hands out pooled memory holding whatever its last user left there; the padding must still be zeros.
    [Fact]
    public void PaddingIsZeroBytesWhateverTheOutputsMemoryHeld()
    {
        var output = new ArrayBufferWriter<byte>(TarHeaderEncoder.BlockSize);
        output.GetSpan(TarHeaderEncoder.BlockSize).Fill(0xff);

        var written = TarHeaderEncoder.WritePadding(1, output);

        Assert.Equal(TarHeaderEncoder.BlockSize - 1, written);
        Assert.Equal(new byte[TarHeaderEncoder.BlockSize - 1], output.WrittenSpan.ToArray());
    }

    // The same holds for every header block: a plain one, and the PAX block and the header after it.
    [Theory]
    [InlineData("etc/hostname")]
    [InlineData("usr/share/doc/café/naïve.txt")]
    public void AHeaderIsTheSameWhateverTheOutputsMemoryHeld(string name)
    {
        var header = new TarEntryHeader { Name = Encoding.UTF8.GetBytes(name), Type = TarEntryType.RegularFile, Mode = 0x1a4, Size = 3 };
        var clean = new ArrayBufferWriter<byte>();
        var dirty = new ArrayBufferWriter<byte>(4 * TarHeaderEncoder.BlockSize);
        dirty.GetSpan(4 * TarHeaderEncoder.BlockSize).Fill(0xff);

        TarHeaderEncoder.Write(header, clean);
        TarHeaderEncoder.Write(header, dirty);

        Assert.Equal(clean.WrittenSpan.ToArray(), dirty.WrittenSpan.ToArray());
    }

    // The sum is taken 16 bytes at a time where the CPU allows: every byte counts once, the field itself as spaces,
    // and a block of 0xff bytes, the largest sum, does not overflow a lane.
    [Theory]
    [InlineData(0x00)]
    [InlineData(0x01)]
    [InlineData(0xff)]
    [InlineData(-1)]
    public void TheChecksumIsTheSumOfTheBlocksBytesWithItsOwnFieldAsSpaces(int fill)
    {
        var block = new byte[TarHeaderEncoder.BlockSize];
        if (fill < 0)
        {
            new Random(29).NextBytes(block);
        }
        else
        {
            block.AsSpan().Fill((byte)fill);
        }

        var expected = 0;
        for (var i = 0; i < block.Length; i++)
        {
            expected += i is >= 148 and < 156 ? ' ' : block[i];
        }

        Assert.Equal(expected, TarHeaderEncoder.Checksum(block));
    }
}
