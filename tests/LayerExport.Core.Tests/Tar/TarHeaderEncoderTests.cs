using System.Buffers;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Tar;

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
}
