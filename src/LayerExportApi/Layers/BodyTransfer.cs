using System.Diagnostics;
using System.IO.Pipelines;
using LayerExport.Core;
using LayerExport.Core.Compression;
using LayerExport.Core.Export;
using LayerExport.Core.Tar;
using LayerExportApi.Limits;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Layers;

/// <summary>One export's body on its way to the client: the minimum read rate, the metrics, the log line, and what a failure does to the connection.</summary>
/// <remarks>
/// The bytes go into <see cref="HttpResponse.BodyWriter"/> through a <see cref="HeldBodyWriter"/>, with the
/// request's abort token on every read and write, so a client that hangs up stops the export at once. A failure
/// while the held writer still has everything (before the first flush, within its first 64 KiB) is answered with
/// the problem response and its status, as a failure before the body is. A failure after that ends the transfer
/// short of its announced length, so the client sees a failed transfer, never a short body that looks complete.
/// A whole plain tar over HTTP/1.x that failed between entries also gets <see cref="IncompleteArchiveMarker"/>
/// before the connection is closed, and one that failed inside an entry sends all it wrote of that entry, so that a
/// tar reader fed by a pipe (<c>curl | tar -x</c>) fails too; everything else is aborted.
/// </remarks>
internal sealed class BodyTransfer(PreparedExport export, LayerCompression compression, LayerDescriptors descriptors, ILogger logger)
{
    /// <summary>Runs <paramref name="write"/>, the body; a failure is logged with the entry path and answered with a problem while nothing has reached the server, else it aborts the connection.</summary>
    /// <param name="httpContext">The request whose response <paramref name="write"/> fills.</param>
    /// <param name="tarBytes">Tar bytes of the body made so far, for the metrics.</param>
    /// <param name="markIncomplete">Whether a failure between entries may end the body with <see cref="IncompleteArchiveMarker"/>: a whole plain tar.</param>
    /// <param name="write">Writes the body into the writer it is given and returns what logs its completion, given the elapsed milliseconds.</param>
    /// <remarks>Each outcome is counted in the metrics just before its log line, so whoever reads the log sees the count.</remarks>
    public async Task RunAsync(HttpContext httpContext, Func<long> tarBytes, bool markIncomplete, Func<PipeWriter, CancellationToken, Task<Action<long>>> write)
    {
        var aborted = httpContext.RequestAborted;
        var metrics = httpContext.RequestServices.GetRequiredService<ExportMetrics>();
        var stopping = httpContext.RequestServices.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping;
        var layerId = export.Layer.Id;
        var limits = httpContext.RequestServices.GetRequiredService<IOptions<LimitsOptions>>().Value;
        using var rateGuard = ResponseRateGuard.Install(httpContext, limits.MinResponseBytesPerSecond, limits.MinResponseGracePeriod, httpContext.RequestServices.GetService<TimeProvider>() ?? TimeProvider.System);
        using var body = new HeldBodyWriter(httpContext.Response.BodyWriter);
        var output = SlotReleasingBodyWriter.Around(body, httpContext);
        var clock = Stopwatch.StartNew();
        metrics.Started(compression);
        try
        {
            var logCompleted = await write(output, aborted);
            Ended(ExportOutcome.Completed);
            logCompleted(clock.ElapsedMilliseconds);
        }
        catch (OperationCanceledException e) when (e.CancellationToken == aborted || aborted.IsCancellationRequested)
        {
            // A flush that finds the client gone throws for the abort token before Kestrel may have signalled it.
            // During a stop, the abort is the server's: the shutdown timeout ran out before the export did.
            if (stopping.IsCancellationRequested)
            {
                Ended(ExportOutcome.Aborted);
                ExportLog.Aborted(logger, layerId, compression, export.Progress.BytesWritten, export.Progress.EntriesWritten, clock.ElapsedMilliseconds);
            }
            else if (rateGuard is { Tripped: true })
            {
                Ended(ExportOutcome.Cancelled);
                ExportLog.TooSlow(logger, layerId, compression, limits.MinResponseBytesPerSecond, export.Progress.BytesWritten, export.Progress.EntriesWritten, clock.ElapsedMilliseconds);
            }
            else
            {
                Ended(ExportOutcome.Cancelled);
                ExportLog.Cancelled(logger, layerId, compression, export.Progress.BytesWritten, export.Progress.EntriesWritten, clock.ElapsedMilliseconds);
            }

            httpContext.Abort();
        }
        catch (Exception e)
        {
            // Whatever was announced may have been what failed: the next request surveys the layer afresh.
            descriptors.ForgetSurvey(layerId);
            var path = (e as LayerExportException)?.Path ?? "(none)";
            Ended(ExportOutcome.Failed);
            if (!body.HandedOver && !httpContext.Response.HasStarted)
            {
                // What the export wrote is still held here: the response can be what it would have been before the body.
                var problem = LayerProblems.TryMap(e, out var mapped) ? mapped : TypedResults.Problem(statusCode: StatusCodes.Status500InternalServerError);
                ExportLog.FailedBeforeBody(logger, e, layerId, compression, path, export.Progress.BytesWritten, export.Progress.EntriesWritten, clock.ElapsedMilliseconds, problem.StatusCode);
                httpContext.Response.Headers.Clear();
                await problem.ExecuteAsync(httpContext);
                return;
            }

            ExportLog.Failed(logger, e, layerId, compression, path, export.Progress.BytesWritten, export.Progress.EntriesWritten, clock.ElapsedMilliseconds);
            if (!markIncomplete || !await TryMarkIncompleteAsync(httpContext))
            {
                httpContext.Abort();
            }
        }

        void Ended(string outcome)
        {
            httpContext.Items[ExportOutcome.Item] = outcome;
            metrics.Ended(compression, outcome, tarBytes(), export.Progress.EntriesWritten, clock.Elapsed);
        }
    }

    // Sends the marker (none inside an entry) and returns without aborting: Kestrel then finds the body short of its
    // Content-Length, reports that (not logged: IntendedShortBodies), and closes the connection after sending what it
    // has. An abort would drop the bytes not flushed yet: inside an entry, its header and the small entries before
    // it, so that the body would end at an earlier entry's end, which every tar reader takes for a complete tar.
    // Only for HTTP/1.x, where a short body is the failure signal.
    private async Task<bool> TryMarkIncompleteAsync(HttpContext httpContext)
    {
        var request = httpContext.Request;
        if (!(HttpProtocol.IsHttp11(request.Protocol) || HttpProtocol.IsHttp10(request.Protocol))
            || httpContext.Response.ContentLength is not { } length
            || (export.Progress.EndsInsideEntry ? [] : IncompleteArchiveMarker.After(export.Progress.BytesWritten, export.Progress.PaddingToEntryEnd, length)) is not { } marker)
        {
            return false;
        }

        try
        {
            var body = httpContext.Response.BodyWriter;
            var result = marker.Length == 0 ? await body.FlushAsync(httpContext.RequestAborted) : await body.WriteAsync(marker, httpContext.RequestAborted);
            if (result.IsCanceled || result.IsCompleted)
            {
                return false;
            }

            httpContext.RequestServices.GetRequiredService<IntendedShortBodies>().Add(httpContext);
            return true;
        }
        catch (Exception e) when (e is IOException or OperationCanceledException or InvalidOperationException)
        {
            return false;
        }
    }
}
