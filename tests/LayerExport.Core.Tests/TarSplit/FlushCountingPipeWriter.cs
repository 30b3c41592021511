using System.IO.Pipelines;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>Passes writes through and remembers how many bytes had been flushed, i.e. had left towards a client, and the largest request for memory.</summary>
internal sealed class FlushCountingPipeWriter(PipeWriter inner) : PipeWriter
{
    private long _advanced;

    public long Flushed { get; private set; }

    /// <summary>The most bytes ever written and not yet flushed: what was held back from the client at once.</summary>
    public long MostUnflushed { get; private set; }

    public override void Advance(int bytes)
    {
        _advanced += bytes;
        MostUnflushed = Math.Max(MostUnflushed, _advanced - Flushed);
        inner.Advance(bytes);
    }

    /// <summary>The most memory asked for at once: the largest read of a file into the pipe.</summary>
    public int LargestRequest { get; private set; }

    public override Memory<byte> GetMemory(int sizeHint = 0)
    {
        LargestRequest = Math.Max(LargestRequest, sizeHint);
        return inner.GetMemory(sizeHint);
    }

    public override Span<byte> GetSpan(int sizeHint = 0) => GetMemory(sizeHint).Span;

    public override void CancelPendingFlush() => inner.CancelPendingFlush();

    public override void Complete(Exception? exception = null) => inner.Complete(exception);

    public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
    {
        Flushed = _advanced;
        return inner.FlushAsync(cancellationToken);
    }
}
