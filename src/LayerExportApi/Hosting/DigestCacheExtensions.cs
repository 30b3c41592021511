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
        builder.Services.AddOptions<DigestCacheOptions>().BindConfiguration(DigestCacheOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<DigestCacheOptions>, DigestCacheDirectoryCheck>();
        builder.Services.AddSingleton(static services =>
        {
            var directory = services.GetRequiredService<IOptions<DigestCacheOptions>>().Value.Directory;
            if (directory is not null)
            {
                return new DigestCache(string.IsNullOrWhiteSpace(directory) ? null : directory);
            }

            // Unset, the user's cache directory is only a preference: a container user whose HOME is '/' or belongs
            // to another uid still starts, keeping digests in memory. A directory configured on purpose must work.
            var preferred = DigestCacheOptions.UserCacheDirectory();
            try
            {
                return new DigestCache(string.IsNullOrWhiteSpace(preferred) ? null : preferred);
            }
            catch (Exception e) when (e is UnsafeDirectoryException or NativeIOException)
            {
                DigestsInMemoryOnly(services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(DigestCache).FullName!), preferred, e.Message);
                return new DigestCache(null);
            }
        });
        builder.Services.AddSingleton(static services => new LayerDescriptors(
            services.GetRequiredService<LayerExporter>(),
            services.GetRequiredService<DigestCache>(),
            services.GetRequiredService<IOptions<CompressionOptions>>().Value));
        return builder;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Digests are kept in memory only: the default DigestCache:Directory {Directory} cannot be used ({Reason}); set DigestCache:Directory to keep them across restarts")]
    private static partial void DigestsInMemoryOnly(ILogger logger, string directory, string reason);
}
