using LayerExport.Core.Store;
using LayerExportApi.Layers;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Health;

/// <summary>Ready when the configured store root still is the directory the store opened, and the store can list its layers.</summary>
/// <remarks>
/// The answer is anonymous, so it names no path and no layer; the log has the reason. A root replaced by another
/// directory at the same path is not ready: the server would go on serving the old one, so a restart is due.
/// The store's calls are synchronous and a hung file system holds them for good, so the probe runs on its own
/// thread, is answered once <c>LayerStore:Access:ReadinessTimeout</c> has passed, and is shared by every probe that
/// comes while it runs: a probe every few seconds never piles up blocked threads.
/// </remarks>
internal sealed partial class StoreReadinessCheck(
    ILayerStore store,
    StoreRootIdentity opened,
    IOptions<LayerStoreOptions> options,
    IOptions<StoreAccessOptions> access,
    TimeProvider clock,
    ILogger<StoreReadinessCheck> logger) : IHealthCheck
{
    private readonly Lock _gate = new();
    private Task<HealthCheckResult>? _running;

    /// <inheritdoc />
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        var timeout = access.Value.ReadinessTimeout;
        try
        {
            return await Running().WaitAsync(timeout, clock, cancellationToken);
        }
        catch (TimeoutException)
        {
            Log.NotReady(logger, $"the store has not answered within LayerStore:Access:ReadinessTimeout ({timeout.TotalSeconds:0.###} s); a hung file system?", null);
            return HealthCheckResult.Unhealthy("The layer store did not answer in time.");
        }
    }

    private Task<HealthCheckResult> Running()
    {
        lock (_gate)
        {
            if (_running is not { IsCompleted: false })
            {
                _running = Task.Run(Probe, CancellationToken.None);
            }

            return _running;
        }
    }

    private HealthCheckResult Probe()
    {
        if (!Directory.Exists(options.Value.Root))
        {
            Log.NotReady(logger, "the store root no longer exists", null);
            return HealthCheckResult.Unhealthy("The layer store's root directory is gone.");
        }

        try
        {
            if (StoreRootIdentity.Of(options.Value.Root) != opened)
            {
                Log.NotReady(logger, "the store root was replaced by another directory; restart to serve it", null);
                return HealthCheckResult.Unhealthy("The layer store's root directory was replaced since the server opened it.");
            }

            store.List();
            return HealthCheckResult.Healthy("The layer store is readable.");
        }
        catch (Exception e) when (e is LayerStoreException or IOException or UnauthorizedAccessException)
        {
            Log.NotReady(logger, e.Message, e);
            return HealthCheckResult.Unhealthy("The layer store cannot be listed.");
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Not ready: {Reason}")]
        public static partial void NotReady(ILogger logger, string reason, Exception? exception);
    }
}
