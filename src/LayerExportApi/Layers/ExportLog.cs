namespace LayerExportApi.Layers;

/// <summary>The one completion line each export logs.</summary>
internal static partial class ExportLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Export of layer {LayerId} completed: {Bytes} bytes, {Entries} entries in {ElapsedMs} ms")]
    public static partial void Completed(ILogger logger, string layerId, long bytes, long entries, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Export of layer {LayerId} cancelled: the client went away after {Bytes} bytes, {Entries} entries in {ElapsedMs} ms")]
    public static partial void Cancelled(ILogger logger, string layerId, long bytes, long entries, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Export of layer {LayerId} failed at entry {EntryPath} after {Bytes} bytes, {Entries} entries in {ElapsedMs} ms; connection aborted")]
    public static partial void Failed(ILogger logger, Exception exception, string layerId, string entryPath, long bytes, long entries, long elapsedMs);
}
