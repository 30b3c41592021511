using System.Globalization;
using System.Threading.RateLimiting;
using LayerExportApi.Layers;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Limits;

/// <summary>Holds each request to a gated endpoint until it has a slot, for the whole response; refuses when the queue is full or the wait too long.</summary>
/// <remarks>
/// The slot is kept until the body is written, not just until the handler returns, because the body is the work.
/// A refusal is a 503 problem with <c>Retry-After</c>, counted in the metrics. A client that hangs up while
/// queued leaves the queue; so does one that waited <c>Limits:QueueTimeout</c>, refused, so that no request
/// hangs without an answer behind long downloads.
/// </remarks>
internal sealed class ExportGateMiddleware(RequestDelegate next, ExportGate gate, ExportMetrics metrics, IOptions<LimitsOptions> options)
{
    /// <summary>Runs the request.</summary>
    public async Task InvokeAsync(HttpContext context)
    {
        if (context.GetEndpoint()?.Metadata.GetMetadata<ExportGateMetadata>() is null)
        {
            await next(context);
            return;
        }

        var limits = options.Value;
        RateLimitLease lease;
        using (var waiting = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted))
        {
            waiting.CancelAfter(limits.QueueTimeout);
            try
            {
                lease = await gate.EnterAsync(waiting.Token);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException)
            {
                await RefuseAsync(context, $"no export slot became free within {limits.QueueTimeout.TotalSeconds:0.###} s; {limits.ConcurrentExports} exports are running; try again later.");
                return;
            }
        }

        using (lease)
        {
            if (lease.IsAcquired)
            {
                await next(context);
                return;
            }

            await RefuseAsync(context, $"{limits.ConcurrentExports} exports are running and {limits.QueuedExports} are waiting; try again later.");
        }
    }

    private async Task RefuseAsync(HttpContext context, string detail)
    {
        metrics.Rejected(RepresentationNegotiation.TagOf(context.Request));
        context.Response.Headers.RetryAfter = options.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        await TypedResults.Problem(
            detail: detail,
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "Too many exports",
            type: "urn:layer-export:problem:too-many-exports").ExecuteAsync(context);
    }
}
