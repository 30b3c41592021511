using System.Diagnostics;
using System.Reflection;
using LayerExport.Core;
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
internal sealed class LayerTarResult(PreparedExport export, ILogger logger) : IResult, IEndpointMetadataProvider
{
    /// <summary>The OCI media type of an uncompressed layer.</summary>
    public const string MediaType = "application/vnd.oci.image.layer.v1.tar";

    /// <inheritdoc />
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using var _ = export;
        var response = httpContext.Response;
        var layerId = export.Layer.Id;
        response.ContentType = MediaType;
        response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment") { FileName = $"\"{layerId}.tar\"" }.ToString();
        if (HttpMethods.IsHead(httpContext.Request.Method))
        {
            return;
        }

        var aborted = httpContext.RequestAborted;
        var clock = Stopwatch.StartNew();
        try
        {
            var summary = await export.WriteTarAsync(response.BodyWriter, aborted);
            ExportLog.Completed(logger, layerId, summary.Bytes, summary.Entries, clock.ElapsedMilliseconds);
        }
        catch (OperationCanceledException e) when (e.CancellationToken == aborted || aborted.IsCancellationRequested)
        {
            // A flush that finds the client gone throws for the abort token before Kestrel may have signalled it.
            ExportLog.Cancelled(logger, layerId, export.Progress.BytesWritten, export.Progress.EntriesWritten, clock.ElapsedMilliseconds);
            httpContext.Abort();
        }
        catch (Exception e)
        {
            var path = (e as LayerExportException)?.Path ?? "(none)";
            ExportLog.Failed(logger, e, layerId, path, export.Progress.BytesWritten, export.Progress.EntriesWritten, clock.ElapsedMilliseconds);
            httpContext.Abort();
        }
    }

    /// <inheritdoc />
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder) =>
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status200OK, typeof(Stream), [MediaType]));
}
