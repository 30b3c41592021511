namespace LayerExport.Core.Tests.Support;

/// <summary>A memory stream that counts its flushes and remembers how much had been written at the last one.</summary>
internal sealed class FlushRecordingStream : MemoryStream
{
    public int Flushes { get; private set; }

    public long LengthAtLastFlush { get; private set; } = -1;

    public override void Flush() => Record();

    public override Task FlushAsync(CancellationToken cancellationToken)
    {
        Record();
        return Task.CompletedTask;
    }

    private void Record()
    {
        Flushes++;
        LengthAtLastFlush = Length;
    }
}
