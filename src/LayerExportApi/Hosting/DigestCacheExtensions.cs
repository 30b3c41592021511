using LayerExport.Core.Blobs;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Native;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>Registers the digest cache and the descriptors computed and kept in it.</summary>
internal static partial class DigestCacheExtensions
{
    /// <summary>Binds <c>DigestCache</c>, validates it at start and registers the cache and <see cref="LayerDescriptors"/>.</summary>
    public static WebApplicationBuilder AddDigestCache(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<DigestCacheOptions>().BindConfiguration(DigestCacheOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<DigestCacheOptions>, DigestCacheDirectoryCheck>();
        builder.Services.AddSingleton(static services =>
        {
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DigestCache).FullName!);
            var directory = services.GetRequiredService<IOptions<DigestCacheOptions>>().Value.Directory;

            // Storing is best effort, but an operator must learn that digests no longer survive a restart.
            void WriteFailed(string reason) => DigestNotStored(logger, reason);
            if (directory is not null)
            {
                return new DigestCache(string.IsNullOrWhiteSpace(directory) ? null : directory, WriteFailed);
            }

            // Unset, the user's cache directory is only a preference: a container user whose HOME is '/' or belongs
            // to another uid still starts, keeping digests in memory. A directory configured on purpose must work.
            var preferred = DigestCacheOptions.UserCacheDirectory();
            if (preferred.Length == 0)
            {
                // A service started with an empty environment (systemd gives root's services no HOME) names no directory.
                DigestsInMemoryOnlyWithoutHome(logger);
                return new DigestCache(null);
            }

            if (DigestCacheOptions.IsInRootHome(preferred))
            {
                DigestsInMemoryOnly(logger, preferred, "HOME is /, the file system's root");
                return new DigestCache(null);
            }

            if (DigestCacheOptions.MissingHome(preferred) is { } home)
            {
                // Debian gives users without a home HOME=/nonexistent: a home is never made, only directories below one.
                DigestsInMemoryOnly(logger, preferred, $"HOME {home} does not exist");
                return new DigestCache(null);
            }

            try
            {
                return new DigestCache(preferred, WriteFailed);
            }
            catch (Exception e) when (e is UnsafeDirectoryException or NativeIOException)
            {
                DigestsInMemoryOnly(logger, preferred, e.Message);
                return new DigestCache(null);
            }
        });
        builder.Services.AddSingleton(static services =>
        {
            var descriptors = new LayerDescriptors(
                services.GetRequiredService<LayerExporter>(),
                services.GetRequiredService<DigestCache>(),
                services.GetRequiredService<IOptions<CompressionOptions>>().Value)
            {
                SettleTime = services.GetRequiredService<IOptions<DigestCacheOptions>>().Value.SettleTime,
                Blobs = services.GetRequiredService<BlobCache>(),
            };

            // A computation started now would only be cut by the shutdown; those running may finish within its grace.
            services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(descriptors.StopStarting);
            return descriptors;
        });
        return builder;
    }

    /// <summary>Opens the cache now: its directory is checked once, at start-up, not by the first request to need it.</summary>
    public static WebApplication OpenDigestCache(this WebApplication app)
    {
        app.Services.GetRequiredService<DigestCache>();
        return app;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A digest was kept in memory only, not in DigestCache:Directory: {Reason}; others that fail likewise are not logged until one is stored there again")]
    private static partial void DigestNotStored(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Digests are kept in memory only: the default DigestCache:Directory {Directory} cannot be used ({Reason}); set DigestCache:Directory to keep them across restarts")]
    private static partial void DigestsInMemoryOnly(ILogger logger, string directory, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Digests are kept in memory only: neither XDG_CACHE_HOME nor HOME names an absolute directory to keep them in; set DigestCache:Directory to keep them across restarts")]
    private static partial void DigestsInMemoryOnlyWithoutHome(ILogger logger);
}
