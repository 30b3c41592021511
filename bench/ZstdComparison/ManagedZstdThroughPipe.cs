using System.IO.Pipelines;
using ZstdSharp;
using ZstdSharp.Unsafe;

namespace ZstdComparison;

/// <summary>
/// ZstdSharp.Port fed the way the server feeds it: through <c>PipeWriter.Create(stream)</c>, with a pipe flush
/// after every <c>chunk</c> bytes (the tar writer's flush threshold).
/// </summary>
internal sealed class ManagedZstdThroughPipe(int threads) : IZstdVariant
{
    public string Name => $"ZstdSharp.Port via PipeWriter, flush each chunk, {threads} worker(s)";

    public void Compress(byte[] input, int chunk, OutputBuffer output) => CompressAsync(input, chunk, output).GetAwaiter().GetResult();

    private async Task CompressAsync(byte[] input, int chunk, OutputBuffer output)
    {
        await using var zstd = new CompressionStream(output, 3, leaveOpen: true);
        zstd.SetParameter(ZSTD_cParameter.ZSTD_c_nbWorkers, threads);
        zstd.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        var pipe = PipeWriter.Create(zstd, new StreamPipeWriterOptions(leaveOpen: true));
        for (var offset = 0; offset < input.Length; offset += chunk)
        {
            await pipe.WriteAsync(input.AsMemory(offset, Math.Min(chunk, input.Length - offset)));
        }

        await pipe.CompleteAsync();
    }
}
