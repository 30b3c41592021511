using LayerExport.Core.Store;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Health;

/// <summary>Ready when the configured store root still is the directory the store opened, and the store can list its layers.</summary>
/// <remarks>
/// The answer is anonymous, so it names no path and no layer; the log has the reason. A root replaced by another
/// directory at the same path is not ready: the server would go on serving the old one, so a restart is due.
/// </remarks>
internal sealed partial class StoreReadinessCheck(ILayerStore store, StoreRootIdentity opened, IOptions<LayerStoreOptions> options, ILogger<StoreReadinessCheck> logger) : IHealthCheck
{
    /// <inheritdoc />
    public Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken)
    {
        if (!Directory.Exists(options.Value.Root))
        {
            Log.NotReady(logger, "the store root no longer exists", null);
            return Task.FromResult(HealthCheckResult.Unhealthy("The layer store's root directory is gone."));
        }

        try
        {
            if (StoreRootIdentity.Of(options.Value.Root) != opened)
            {
                Log.NotReady(logger, "the store root was replaced by another directory; restart to serve it", null);
                return Task.FromResult(HealthCheckResult.Unhealthy("The layer store's root directory was replaced since the server opened it."));
            }

            store.List();
            return Task.FromResult(HealthCheckResult.Healthy("The layer store is readable."));
        }
        catch (Exception e) when (e is LayerStoreException or IOException or UnauthorizedAccessException)
        {
            Log.NotReady(logger, e.Message, e);
            return Task.FromResult(HealthCheckResult.Unhealthy("The layer store cannot be listed."));
        }
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Warning, Message = "Not ready: {Reason}")]
        public static partial void NotReady(ILogger logger, string reason, Exception? exception);
    }
}
