using System.Security.Cryptography;
using System.Text;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;

namespace LayerExport.Core.Tests.Compression;

/// <summary>
/// Pins the compressed bytes of a fixed input. gzip comes from the zlib-ng inside the .NET runtime and zstd from the
/// ZstdSharp package; an update of either that changes the bytes must also change <see cref="DigestCache.EncodingVersion"/>,
/// or cached digests would announce bytes the server no longer sends. This test is what notices.
/// </summary>
public class CodecPinTests
{
    [Theory]
    [InlineData(LayerCompression.Gzip, "a5fb53150837cd286dbefa7e709b35aa")]
    [InlineData(LayerCompression.Zstd, "9ac22e60b03091b56bf043d9f9c1da9d")]
    public async Task CompressedBytesOfAFixedInputAreStable(LayerCompression compression, string expectedPrefix)
    {
        var input = Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 20_000).Select(i => $"{i * 7919 % 104729} layer line {i % 97}\n")));
        using var output = new MemoryStream();
        await using (var stage = CompressionStage.Create(compression, output, new CompressionOptions()))
        {
            await stage.Input.WriteAsync(input);
            await stage.FinishAsync(CancellationToken.None);
        }

        var actual = Convert.ToHexStringLower(SHA256.HashData(output.ToArray()))[..32];
        Assert.True(
            actual == expectedPrefix,
            $"{compression} bytes changed (sha256 prefix {actual}, pinned {expectedPrefix}) under {DigestCache.EncodingVersion}: "
            + "bump DigestCache.EncodingVersion, then update this pin.");
    }
}
