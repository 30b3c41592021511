using BenchmarkDotNet.Attributes;
using LayerExport.Core.Compression;

namespace LayerExport.Benchmarks;

/// <summary>The two codecs at the server's default settings on a few MB of half-random, half-text data.</summary>
/// <remarks>
/// Input is written in 64 KiB pieces, as the tar writer feeds the compression stage; output goes to a stream
/// that only counts it. gzip is <see cref="BlockGzipStream"/>; zstd is the zstd stage (<c>ZstdStage</c>)
/// made by <see cref="CompressionStage.Create"/>.
/// </remarks>
public class CodecBenchmarks
{
    private const int InputLength = 8 * 1024 * 1024;
    private const int WriteLength = 64 * 1024;

    private readonly CompressionOptions _defaults = new();
    private byte[] _input = null!;

    /// <summary>Compression threads (the server uses one per core: 2 here).</summary>
    [Params(1, 2)]
    public int Threads { get; set; }

    /// <summary>Generates the input.</summary>
    [GlobalSetup]
    public void Setup() => _input = SampleContent.Mixed(seed: 1, InputLength);

    /// <summary>Parallel block gzip at the default level and block size; returns the compressed length.</summary>
    [Benchmark]
    public async Task<long> BlockGzipAsync()
    {
        var output = new CountingStream();
        var gzip = new BlockGzipStream(output, _defaults.Gzip.Level, _defaults.Gzip.BlockSize, Threads);
        await using (gzip.ConfigureAwait(false))
        {
            await WriteInputAsync(gzip).ConfigureAwait(false);
            await gzip.FinishAsync(CancellationToken.None).ConfigureAwait(false);
        }

        return output.BytesWritten;
    }

    /// <summary>zstd at the default level with <see cref="Threads"/> workers; returns the compressed length.</summary>
    [Benchmark]
    public async Task<long> ZstdAsync()
    {
        var output = new CountingStream();
        var options = new CompressionOptions { Threads = Threads };
        var stage = CompressionStage.Create(LayerCompression.Zstd, output, options);
        await using (stage.ConfigureAwait(false))
        {
            await WriteInputAsync(stage.Input).ConfigureAwait(false);
            await stage.FinishAsync(CancellationToken.None).ConfigureAwait(false);
        }

        return output.BytesWritten;
    }

    private async Task WriteInputAsync(Stream input)
    {
        for (var offset = 0; offset < _input.Length; offset += WriteLength)
        {
            var length = Math.Min(WriteLength, _input.Length - offset);
            await input.WriteAsync(_input.AsMemory(offset, length)).ConfigureAwait(false);
        }
    }
}
