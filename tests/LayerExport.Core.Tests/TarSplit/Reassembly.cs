using System.IO.Pipelines;
using System.Security.Cryptography;
using LayerExport.Core.Export;
using LayerExport.Core.Native;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>One run of the assembler into a pipe: what the reading side received and how the writing side ended.</summary>
internal sealed record Reassembly(byte[] Received, TarSplitSummary? Summary, Exception? Error, long BytesWritten, long Flushed)
{
    public static async Task<Reassembly> RunAsync(string layerRoot, Func<TarSplitRecord> openRecord, ExpectedTar? expected, Action<CancellationTokenSource>? onFirstData)
    {
        using var root = FileDescriptor.OpenDirectory(layerRoot);
        using var record = openRecord();
        using var cancellation = new CancellationTokenSource();
        var pipe = new Pipe();
        var received = new MemoryStream();
        var reading = ReadAsync(pipe.Reader, received, () => onFirstData?.Invoke(cancellation));
        var output = new FlushCountingPipeWriter(pipe.Writer);
        var assembler = new TarSplitAssembler(root);
        TarSplitSummary? summary = null;
        Exception? error = null;
        try
        {
            summary = await assembler.WriteAsync(record, output, expected, cancellation.Token);
            await pipe.Writer.CompleteAsync();
        }
        catch (Exception e)
        {
            error = e;
            await pipe.Writer.CompleteAsync(e);
        }

        // The reading side fails exactly when the writer completed with a failure; what arrived before is what a client saw.
        var readError = await Record.ExceptionAsync(() => reading);
        Assert.True((readError is null) == (error is null), $"reader ended with {readError?.GetType().Name}, writer with {error?.GetType().Name}");
        return new Reassembly(received.ToArray(), summary, error, assembler.BytesWritten, output.Flushed);
    }

    public string Sha256 => Convert.ToHexStringLower(SHA256.HashData(Received));

    private static async Task ReadAsync(PipeReader reader, MemoryStream received, Action onFirstData)
    {
        var first = true;
        while (true)
        {
            var result = await reader.ReadAsync();
            foreach (var segment in result.Buffer)
            {
                received.Write(segment.Span);
            }

            if (first && !result.Buffer.IsEmpty)
            {
                first = false;
                onFirstData();
            }

            reader.AdvanceTo(result.Buffer.End);
            if (result.IsCompleted)
            {
                break;
            }
        }

        await reader.CompleteAsync();
    }
}
