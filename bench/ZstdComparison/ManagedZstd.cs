using ZstdSharp;
using ZstdSharp.Unsafe;

namespace ZstdComparison;

/// <summary>ZstdSharp.Port's CompressionStream set up as the server's ZstdStage: level 3, checksum, <paramref name="threads"/> workers.</summary>
internal sealed class ManagedZstd(int threads) : IZstdVariant
{
    public string Name => $"ZstdSharp.Port, {threads} worker(s)";

    public void Compress(byte[] input, int chunk, OutputBuffer output)
    {
        using var zstd = new CompressionStream(output, 3, leaveOpen: true);
        zstd.SetParameter(ZSTD_cParameter.ZSTD_c_nbWorkers, threads);
        zstd.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        for (var offset = 0; offset < input.Length; offset += chunk)
        {
            zstd.Write(input, offset, Math.Min(chunk, input.Length - offset));
        }
    }
}
