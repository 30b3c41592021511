using System.Globalization;
using System.Threading.RateLimiting;
using LayerExport.Core.Export;
using LayerExportApi.Layers;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Limits;

/// <summary>Holds each request to a gated endpoint until it has a slot, kept until its body is written; refuses when the queue is full, the wait too long or the server stopping.</summary>
/// <remarks>
/// The slot is kept until the body is written, not just until the handler returns, because the body is the work;
/// a body of announced length gives it back as its last byte is written (<see cref="SlotReleasingBodyWriter"/>).
/// A refusal for want of a slot is a 503 problem with <c>Retry-After</c>, counted in the metrics. A client that
/// hangs up while queued leaves the queue, and its cancellation goes on up to the request log, which names it 499;
/// one that waited <c>Limits:QueueTimeout</c> leaves it refused, so that no request hangs without an answer behind
/// long downloads. Once the host begins to stop, a request waiting for a slot, or asking for one, gets 503
/// <c>service-stopping</c> at once instead of waiting out <c>Limits:ShutdownTimeout</c> and being cut.
/// </remarks>
internal sealed class ExportGateMiddleware(RequestDelegate next, ExportGate gate, ExportMetrics metrics, IOptions<LimitsOptions> options, IHostApplicationLifetime lifetime)
{
    /// <summary>Runs the request.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<ExportGateMetadata>() is not { } gated)
        {
            await next(context);
            return;
        }

        var stopping = lifetime.ApplicationStopping;
        if (stopping.IsCancellationRequested)
        {
            await RefuseStoppingAsync(context);
            return;
        }

        var limits = options.Value;
        RateLimitLease lease;
        using (var waiting = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted, stopping))
        {
            waiting.CancelAfter(limits.QueueTimeout);
            try
            {
                lease = await gate.EnterAsync(waiting.Token);
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested && stopping.IsCancellationRequested)
            {
                await RefuseStoppingAsync(context);
                return;
            }
            catch (OperationCanceledException) when (!context.RequestAborted.IsCancellationRequested)
            {
                await RefuseAsync(context, gated, $"no export slot became free within {limits.QueueTimeout.TotalSeconds:0.###} s; {Running(limits.ConcurrentExports)}; try again later.");
                return;
            }
        }

        using var slot = new ExportSlot(lease);
        if (!lease.IsAcquired)
        {
            await RefuseAsync(context, gated, $"{Running(limits.ConcurrentExports)} and {Waiting(limits.QueuedExports)}; try again later.");
        }
        else if (stopping.IsCancellationRequested)
        {
            // The slot came free as the stop began: an export started now would only be cut at the shutdown timeout.
            await RefuseStoppingAsync(context);
        }
        else
        {
            context.Features.Set(slot);
            await next(context);
        }
    }

    private static string Running(int exports) => exports == 1 ? "1 export is running" : $"{exports} exports are running";

    private static string Waiting(int exports) => exports == 1 ? "1 is waiting" : $"{exports} are waiting";

    private async Task RefuseAsync(HttpContext context, ExportGateMetadata gated, string detail)
    {
        metrics.Rejected(RepresentationNegotiation.TagOf(context.Request, gated.ReadsAccept));
        context.Response.Headers.RetryAfter = options.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        await TypedResults.Problem(
            detail: detail,
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "Too many exports",
            type: "urn:layer-export:problem:too-many-exports").ExecuteAsync(context);
    }

    // The problem a descriptor computation refused by the stop gets (LayerProblems), so clients see one answer.
    private static Task RefuseStoppingAsync(HttpContext context) =>
        TypedResults.Problem(
            detail: new ServiceStoppingException().Message,
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "Service stopping",
            type: "urn:layer-export:problem:service-stopping").ExecuteAsync(context);
}
