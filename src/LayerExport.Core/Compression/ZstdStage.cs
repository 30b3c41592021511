using ZstdSharp;
using ZstdSharp.Unsafe;

namespace LayerExport.Core.Compression;

/// <summary>zstd with worker threads, which the zstd format keeps byte-identical for any worker count of one or more.</summary>
/// <remarks>
/// zstd's single-threaded mode (no workers) cuts its input differently from its multi-threaded mode, so the
/// encoder always runs with at least one worker: the bytes then never depend on the machine's core count.
/// Flushes of <see cref="Input"/> are ignored, so the bytes do not depend on how often the tar writer flushes
/// either, and zstd keeps its full-size blocks and jobs.
/// </remarks>
internal sealed class ZstdStage : CompressionStage
{
    private readonly DetachableStream _output;
    private readonly CompressionStream _zstd;
    private readonly FlushIgnoringStream _input;
    private bool _finished;

    public ZstdStage(Stream output, CompressionOptions options)
    {
        _output = new DetachableStream(output);
        _zstd = new CompressionStream(_output, options.Zstd.Level, leaveOpen: true);
        _zstd.SetParameter(ZSTD_cParameter.ZSTD_c_nbWorkers, options.EffectiveThreads);
        _zstd.SetParameter(ZSTD_cParameter.ZSTD_c_checksumFlag, 1);
        _input = new FlushIgnoringStream(_zstd);
    }

    public override Stream Input => _input;

    public override async Task FinishAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _finished = true;
        await _zstd.DisposeAsync().ConfigureAwait(false);

        // Disposing wrote the epilogue, and a pipe's stream sends what it is given: the body may be complete and
        // its client gone already, which must not make a finished body a cancelled one.
        await _output.FlushAsync(CancellationToken.None).ConfigureAwait(false);
    }

    public override async ValueTask DisposeAsync()
    {
        if (!_finished)
        {
            // Disposing a zstd stream writes its epilogue; a failed export must not look finished.
            _output.Detach();
            await _zstd.DisposeAsync().ConfigureAwait(false);
        }
    }
}
