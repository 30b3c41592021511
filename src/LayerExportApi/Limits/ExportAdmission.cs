using System.Globalization;
using System.Threading.RateLimiting;
using LayerExport.Core.Compression;
using LayerExport.Core.Export;
using LayerExportApi.Layers;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Limits;

/// <summary>Admits an export to a slot, at once or after the queue, kept until its body is written; refuses when the queue is full, the wait too long or the server stopping.</summary>
/// <remarks>
/// An endpoint asks once it has checked what the request alone decides (query, IDs' syntax, <c>Accept</c>,
/// conditional headers): bad input is refused at once with its own problem, never queued behind downloads or told
/// to come back later. The slot is kept until the body is written, not just until the handler returns, because the
/// body is the work; a body of announced length gives it back as its last byte is written
/// (<see cref="SlotReleasingBodyWriter"/>). A refusal for want of a slot is a 503 problem with <c>Retry-After</c>,
/// counted in the metrics. A client that hangs up while queued leaves the queue, and its cancellation goes on up to
/// the request log, which names it 499; one that waited <c>Limits:QueueTimeout</c> leaves it refused, so that no
/// request hangs without an answer behind long downloads. Once the host begins to stop, a request waiting for a
/// slot, or asking for one, gets 503 <c>service-stopping</c> at once instead of waiting out
/// <c>Limits:ShutdownTimeout</c> and being cut.
/// </remarks>
internal sealed class ExportAdmission(ExportGate gate, ExportMetrics metrics, IOptions<LimitsOptions> options, IHostApplicationLifetime lifetime)
{
    private int _asking;

    /// <summary>Takes a slot for <paramref name="context"/>'s export of <paramref name="representation"/>; null once it is held, else the refusal to answer.</summary>
    /// <param name="context">The request.</param>
    /// <param name="representation">What it exports, for the metrics.</param>
    /// <param name="beforeWaiting">Run when no slot is free, before the request waits for one, unless as many requests as there are slots are running it: throws the store's refusal of a request that can only be refused. It is given the client's hang-up.</param>
    /// <param name="cancellationToken">The client's hang-up.</param>
    /// <exception cref="OperationCanceledException">The client hung up while waiting.</exception>
    public async Task<ProblemHttpResult?> EnterAsync(HttpContext context, LayerCompression representation, Func<CancellationToken, ValueTask> beforeWaiting, CancellationToken cancellationToken)
    {
        var stopping = lifetime.ApplicationStopping;
        if (stopping.IsCancellationRequested)
        {
            return Stopping();
        }

        var limits = options.Value;
        var lease = gate.TryEnter();
        if (!lease.IsAcquired)
        {
            lease.Dispose();
            await AskBeforeWaitingAsync(beforeWaiting, limits.ConcurrentExports, cancellationToken);
            lease = await WaitAsync(limits.QueueTimeout, cancellationToken);
            if (lease is null)
            {
                return stopping.IsCancellationRequested
                    ? Stopping()
                    : Refuse(context, representation, $"no export slot became free within {limits.QueueTimeout.TotalSeconds:0.###} s; {Running(limits.ConcurrentExports)}; try again later.");
            }
        }

        var slot = new ExportSlot(lease);
        context.Response.RegisterForDispose(slot);
        if (!lease.IsAcquired)
        {
            return Refuse(context, representation, $"{Running(limits.ConcurrentExports)} and {Waiting(limits.QueuedExports)}; try again later.");
        }

        if (stopping.IsCancellationRequested)
        {
            // The slot came free as the stop began: an export started now would only be cut at the shutdown timeout.
            slot.Dispose();
            return Stopping();
        }

        context.Features.Set(slot);
        return null;
    }

    // At most as many requests ask the store at once as there are slots; the rest wait for a slot unasked. The asks
    // of a hung store end at its time limit (StoreReads), which gives their requests back to the queue.
    private async ValueTask AskBeforeWaitingAsync(Func<CancellationToken, ValueTask> ask, int limit, CancellationToken cancellationToken)
    {
        try
        {
            if (Interlocked.Increment(ref _asking) <= limit)
            {
                await ask(cancellationToken);
            }
        }
        finally
        {
            Interlocked.Decrement(ref _asking);
        }
    }

    // A place in the queue: null once the wait timed out or the stop began; the client's hang-up goes on as its cancellation.
    private async Task<RateLimitLease?> WaitAsync(TimeSpan timeout, CancellationToken cancellationToken)
    {
        using var waiting = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, lifetime.ApplicationStopping);
        waiting.CancelAfter(timeout);
        try
        {
            return await gate.EnterAsync(waiting.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return null;
        }
    }

    private static string Running(int exports) => exports == 1 ? "1 export is running" : $"{exports} exports are running";

    private static string Waiting(int exports) => exports == 1 ? "1 is waiting" : $"{exports} are waiting";

    private ProblemHttpResult Refuse(HttpContext context, LayerCompression representation, string detail)
    {
        metrics.Rejected(RepresentationNegotiation.Tag(representation));
        context.Response.Headers.RetryAfter = options.Value.RetryAfterSeconds.ToString(CultureInfo.InvariantCulture);
        return TypedResults.Problem(
            detail: detail,
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "Too many exports",
            type: "urn:layer-export:problem:too-many-exports");
    }

    // The problem a descriptor computation refused by the stop gets (LayerProblems), so clients see one answer.
    private static ProblemHttpResult Stopping() =>
        TypedResults.Problem(
            detail: new ServiceStoppingException().Message,
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "Service stopping",
            type: "urn:layer-export:problem:service-stopping");
}
