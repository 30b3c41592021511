using LayerExport.Core.Compression;

namespace LayerExportApi.Layers;

/// <summary>The one completion line each export logs.</summary>
internal static partial class ExportLog
{
    [LoggerMessage(Level = LogLevel.Information, Message = "Export of layer {LayerId} ({Compression}) completed: {Bytes} bytes, {Entries} entries, {Digest} in {ElapsedMs} ms")]
    public static partial void Completed(ILogger logger, string layerId, LayerCompression compression, long bytes, long entries, string digest, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Export of layer {LayerId} ({Compression}) bytes {Start}-{End} completed in {ElapsedMs} ms")]
    public static partial void RangeCompleted(ILogger logger, string layerId, LayerCompression compression, long start, long end, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Export of layer {LayerId} ({Compression}) bytes {Start}-{End} sent from the kept body in {ElapsedMs} ms")]
    public static partial void KeptBodySent(ILogger logger, string layerId, LayerCompression compression, long start, long end, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Export of layer {LayerId} ({Compression}) cancelled: the client went away after {Bytes} tar bytes, {Entries} entries in {ElapsedMs} ms")]
    public static partial void Cancelled(ILogger logger, string layerId, LayerCompression compression, long bytes, long entries, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Information, Message = "Export of layer {LayerId} ({Compression}) cancelled: the client read slower than {BytesPerSecond} bytes/s (Limits:MinResponseBytesPerSecond), after {Bytes} tar bytes, {Entries} entries in {ElapsedMs} ms")]
    public static partial void TooSlow(ILogger logger, string layerId, LayerCompression compression, double bytesPerSecond, long bytes, long entries, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Export of layer {LayerId} ({Compression}) aborted: the server stopped before it finished, after {Bytes} tar bytes, {Entries} entries in {ElapsedMs} ms")]
    public static partial void Aborted(ILogger logger, string layerId, LayerCompression compression, long bytes, long entries, long elapsedMs);

    [LoggerMessage(Level = LogLevel.Error, Message = "Export of layer {LayerId} ({Compression}) failed at entry {EntryPath} after {Bytes} tar bytes, {Entries} entries in {ElapsedMs} ms; the transfer ends short")]
    public static partial void Failed(ILogger logger, Exception exception, string layerId, LayerCompression compression, string entryPath, long bytes, long entries, long elapsedMs);

    /// <summary>A failure answered with a problem; a 503 (the layer changing, the service stopping) is a warning, as a retry may get past it.</summary>
    public static void FailedBeforeBody(ILogger logger, Exception exception, string layerId, LayerCompression compression, string entryPath, long bytes, long entries, long elapsedMs, int problemStatus) =>
        FailedBeforeBody(logger, problemStatus == StatusCodes.Status503ServiceUnavailable ? LogLevel.Warning : LogLevel.Error, exception, layerId, compression, entryPath, bytes, entries, elapsedMs, problemStatus);

    [LoggerMessage(Message = "Export of layer {LayerId} ({Compression}) failed at entry {EntryPath} after {Bytes} tar bytes, {Entries} entries in {ElapsedMs} ms, before any byte of the body was sent; answered {ProblemStatus}")]
    private static partial void FailedBeforeBody(ILogger logger, LogLevel level, Exception exception, string layerId, LayerCompression compression, string entryPath, long bytes, long entries, long elapsedMs, int problemStatus);
}
