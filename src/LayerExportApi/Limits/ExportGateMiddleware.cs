using System.Globalization;
using System.Threading.RateLimiting;
using LayerExportApi.Hosting;
using LayerExportApi.Layers;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Limits;

/// <summary>Holds each request to a gated endpoint until it has a slot, for the whole response; refuses when the queue is full.</summary>
/// <remarks>
/// The slot is kept until the body is written, not just until the handler returns, because the body is the work.
/// A refusal is a 503 problem with <c>Retry-After</c>, counted in the metrics. A client that hangs up while
/// queued leaves the queue.
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

        RateLimitLease lease;
        try
        {
            lease = await gate.EnterAsync(context.RequestAborted);
        }
        catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested)
        {
            return;
        }

        using (lease)
        {
            if (lease.IsAcquired)
            {
                await next(context);
                return;
            }

            metrics.Rejected(RepresentationNegotiation.TagOf(context.Request));
            context.Response.Headers.RetryAfter = options.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
            await TypedResults.Problem(
                detail: $"{options.Value.ConcurrentExports} exports are running and {options.Value.QueuedExports} are waiting; try again later.",
                statusCode: StatusCodes.Status503ServiceUnavailable,
                title: "Too many exports",
                type: "urn:layer-export:problem:too-many-exports").ExecuteAsync(context);
        }
    }
}
