using System.IO.Pipelines;
using LayerExport.Core.Export;
using LayerExport.Core.Store;

namespace LayerExport.Core.Tests.Support;

/// <summary>Runs the Core export pipeline of one layer into bytes or a file, the way the API host drives it.</summary>
internal static class TarExport
{
    public static async Task<byte[]> ToBytesAsync(string storeRoot, string id, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await ToStreamAsync(storeRoot, id, buffer, cancellationToken);
        return buffer.ToArray();
    }

    public static async Task ToFileAsync(string storeRoot, string id, string path, CancellationToken cancellationToken)
    {
        await using var file = File.Create(path);
        await ToStreamAsync(storeRoot, id, file, cancellationToken);
    }

    /// <summary>
    /// Writes the export into <paramref name="output"/> and completes it, with the failure when there is one, so
    /// the reading side sees either the whole tar or the error.
    /// </summary>
    public static async Task<ExportSummary> WriteAsync(PreparedExport export, PipeWriter output, CancellationToken cancellationToken)
    {
        try
        {
            var summary = await export.WriteTarAsync(output, cancellationToken);
            await output.CompleteAsync();
            return summary;
        }
        catch (Exception e)
        {
            await output.CompleteAsync(e);
            throw;
        }
    }

    /// <summary>Exports <paramref name="id"/> into <paramref name="output"/>.</summary>
    public static async Task<ExportSummary> ToStreamAsync(string storeRoot, string id, Stream output, CancellationToken cancellationToken)
    {
        using var store = new NativeLayerStore(storeRoot);
        return await ToStreamAsync(store, id, output, cancellationToken);
    }

    /// <summary>Exports <paramref name="id"/> of any store layout into bytes.</summary>
    public static async Task<byte[]> ToBytesAsync(ILayerStore store, string id, CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await ToStreamAsync(store, id, buffer, cancellationToken);
        return buffer.ToArray();
    }

    private static async Task<ExportSummary> ToStreamAsync(ILayerStore store, string id, Stream output, CancellationToken cancellationToken)
    {
        using var export = new LayerExporter(store).Prepare(id, []);
        var pipe = new Pipe();
        var writing = WriteAsync(export, pipe.Writer, cancellationToken);
        var copying = pipe.Reader.AsStream().CopyToAsync(output, cancellationToken);
        await Task.WhenAll(writing, copying);
        return await writing;
    }
}
