using System.Diagnostics;
using System.Reflection;
using LayerExport.Core;
using LayerExport.Core.Compression;
using LayerExport.Core.Export;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Net.Http.Headers;

namespace LayerExportApi.Layers;

/// <summary>Streams a prepared export into the response body as <c>application/vnd.oci.image.layer.v1.tar</c>.</summary>
/// <remarks>
/// The tar goes straight into <see cref="HttpResponse.BodyWriter"/>, with the request's abort token on every
/// read and write, so a client that hangs up stops the export at once. A failure after headers are decided
/// aborts the connection: the client then sees a failed transfer, never a short tar that looks complete.
/// </remarks>
internal sealed class LayerTarResult(PreparedExport export, LayerCompression compression, ILogger logger) : IResult, IEndpointMetadataProvider
{
    /// <inheritdoc />
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using var _ = export;
        var response = httpContext.Response;
        var layerId = export.Layer.Id;
        response.ContentType = LayerMediaType.For(compression);
        response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment")
        {
            FileName = $"\"{layerId}{LayerMediaType.FileSuffix(compression)}\"",
        }.ToString();
        if (HttpMethods.IsHead(httpContext.Request.Method))
        {
            return;
        }

        var aborted = httpContext.RequestAborted;
        var clock = Stopwatch.StartNew();
        try
        {
            var summary = await export.WriteAsync(compression, response.BodyWriter, aborted);
            ExportLog.Completed(logger, layerId, compression, summary.Size, summary.Entries, summary.Digest.Value, clock.ElapsedMilliseconds);
        }
        catch (OperationCanceledException) when (aborted.IsCancellationRequested)
        {
            ExportLog.Cancelled(logger, layerId, compression, export.Progress.BytesWritten, export.Progress.EntriesWritten, clock.ElapsedMilliseconds);
            httpContext.Abort();
        }
        catch (Exception e)
        {
            var path = (e as LayerExportException)?.Path ?? "(none)";
            ExportLog.Failed(logger, e, layerId, compression, path, export.Progress.BytesWritten, export.Progress.EntriesWritten, clock.ElapsedMilliseconds);
            httpContext.Abort();
        }
    }

    /// <inheritdoc />
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(
            StatusCodes.Status200OK,
            typeof(Stream),
            [LayerMediaType.Tar, LayerMediaType.TarGzip, LayerMediaType.TarZstd]));
}
