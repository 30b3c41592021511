using System.Security.Cryptography;
using System.Text;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;

namespace LayerExport.Core.Tests.Compression;

/// <summary>
/// Pins the compressed bytes of a fixed input. gzip comes from the zlib-ng inside the .NET runtime and zstd from the
/// ZstdNet package's native libzstd or the ZstdSharp package; an update of any that changes the bytes must also change
/// <see cref="DigestCache.EncodingVersion"/>, or cached digests would announce bytes the server no longer sends. This
/// test is what notices.
/// </summary>
public class CodecPinTests
{
    [Theory]
    [InlineData(LayerCompression.Gzip, ZstdLibrary.Auto, "a5fb53150837cd286dbefa7e709b35aa")]
    [InlineData(LayerCompression.Zstd, ZstdLibrary.Native, "9ac22e60b03091b56bf043d9f9c1da9d")]
    [InlineData(LayerCompression.Zstd, ZstdLibrary.Managed, "9ac22e60b03091b56bf043d9f9c1da9d")]
    public async Task CompressedBytesOfAFixedInputAreStable(LayerCompression compression, ZstdLibrary library, string expectedPrefix)
    {
        var input = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 20_000).Select(i => $"{i * 7919 % 104729} layer line {i % 97}\n")));
        using var output = new MemoryStream();
        await using (var stage = CompressionStage.Create(compression, output, new CompressionOptions { Zstd = { Library = library } }))
        {
            await stage.Input.WriteAsync(input);
            await stage.FinishAsync(CancellationToken.None);
        }

        var actual = Convert.ToHexStringLower(SHA256.HashData(output.ToArray()))[..32];
        Assert.True(
            actual == expectedPrefix,
            $"{compression} ({library}) bytes changed (sha256 prefix {actual}, pinned {expectedPrefix}) under {DigestCache.EncodingVersion}: "
            + "bump DigestCache.EncodingVersion, then update this pin.");
    }
}
