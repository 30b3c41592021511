using System.Threading.RateLimiting;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Limits;

/// <summary>The slots for concurrent exports and the bounded queue in front of them.</summary>
internal sealed class ExportGate : IDisposable
{
    private readonly ConcurrencyLimiter _limiter;

    /// <summary>Creates the gate from <c>Limits</c>.</summary>
    public ExportGate(IOptions<LimitsOptions> options) => _limiter = new ConcurrencyLimiter(new ConcurrencyLimiterOptions
    {
        PermitLimit = options.Value.ConcurrentExports,
        QueueLimit = options.Value.QueuedExports,
        QueueProcessingOrder = QueueProcessingOrder.OldestFirst,
    });

    /// <summary>Exports waiting for a slot.</summary>
    public long Queued => _limiter.GetStatistics()?.CurrentQueuedCount ?? 0;

    /// <summary>Free slots.</summary>
    public long Available => _limiter.GetStatistics()?.CurrentAvailablePermits ?? 0;

    /// <summary>A slot if one is free and nobody waits for one; a lease that is not acquired otherwise.</summary>
    public RateLimitLease TryEnter() => _limiter.AttemptAcquire(1);

    /// <summary>A slot, at once or after waiting in the queue; a lease that is not acquired means the queue is full.</summary>
    public ValueTask<RateLimitLease> EnterAsync(CancellationToken cancellationToken) => _limiter.AcquireAsync(1, cancellationToken);

    /// <inheritdoc />
    public void Dispose() => _limiter.Dispose();
}
