using System.IO.Pipelines;
using LayerExport.Core.Export;
using LayerExport.Core.Store;

namespace LayerExport.Core.Tests.Support;

/// <summary>
/// An export into a pipe that holds at most 64 KiB: the writer stalls until the test reads, so the test decides
/// how far the export has got before it changes the layer or cancels.
/// </summary>
internal sealed class ThrottledExport : IDisposable
{
    private readonly NativeLayerStore _store;
    private readonly PreparedExport _export;
    private readonly Pipe _pipe = new(new PipeOptions(pauseWriterThreshold: 64 * 1024, resumeWriterThreshold: 32 * 1024));
    private readonly MemoryStream _received = new();

    public ThrottledExport(string storeRoot, string id, CancellationToken cancellationToken)
    {
        _store = new NativeLayerStore(storeRoot);
        try
        {
            _export = new LayerExporter(_store).Prepare(id, []);
        }
        catch
        {
            _store.Dispose();
            throw;
        }

        Writing = TarExport.WriteAsync(_export, _pipe.Writer, cancellationToken);
    }

    /// <summary>The export; it ends when the layer is written or the export fails.</summary>
    public Task<ExportSummary> Writing { get; }

    public IExportProgress Progress => _export.Progress;

    /// <summary>Everything read from the pipe so far.</summary>
    public byte[] Received => _received.ToArray();

    /// <summary>Reads (and consumes) until at least <paramref name="bytes"/> have arrived.</summary>
    public async Task ReadAtLeastAsync(long bytes)
    {
        while (_received.Length < bytes)
        {
            var result = await _pipe.Reader.ReadAsync();
            Consume(result);
            Assert.False(result.IsCompleted, $"the export ended after {_received.Length} bytes");
        }
    }

    /// <summary>Reads until the writer completes; returns the error it completed with, if any.</summary>
    public async Task<Exception?> DrainAsync()
    {
        try
        {
            while (true)
            {
                var result = await _pipe.Reader.ReadAsync();
                Consume(result);
                if (result.IsCompleted)
                {
                    return null;
                }
            }
        }
        catch (Exception e)
        {
            return e;
        }
        finally
        {
            await _pipe.Reader.CompleteAsync();
        }
    }

    public void Dispose()
    {
        _export.Dispose();
        _store.Dispose();
        _received.Dispose();
    }

    private void Consume(ReadResult result)
    {
        foreach (var segment in result.Buffer)
        {
            _received.Write(segment.Span);
        }

        _pipe.Reader.AdvanceTo(result.Buffer.End);
    }
}
