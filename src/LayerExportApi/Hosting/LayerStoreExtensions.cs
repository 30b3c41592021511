using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Native;
using LayerExport.Core.Store;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>Registers the configured layer store and the exporter over it.</summary>
internal static partial class LayerStoreExtensions
{
    /// <summary>Binds <c>LayerStore</c>, validates it at start and registers the store for its layout.</summary>
    public static WebApplicationBuilder AddLayerStore(this WebApplicationBuilder builder)
    {
        var contentRoot = builder.Environment.ContentRootPath;
        builder.Services.AddOptions<LayerStoreOptions>()
            .BindConfiguration(LayerStoreOptions.SectionName)
            .PostConfigure(options =>
            {
                // A relative root is relative to the content root, not to wherever the process was started.
                if (!string.IsNullOrWhiteSpace(options.Root))
                {
                    options.Root = Path.GetFullPath(options.Root, contentRoot);
                }
            })
            .ValidateDataAnnotations()
            .Validate(
                options => string.IsNullOrWhiteSpace(options.Root) || Directory.Exists(options.Root),
                "LayerStore:Root does not name an existing directory.")
            .Validate(
                static options => LayerStoreLayouts.TryParse(options.Layout, out _),
                $"LayerStore:Layout must be one of {LayerStoreLayouts.Names}.")
            .ValidateOnStart();

        // The root's identity is taken just before the store opens it, so readiness can tell a root replaced later.
        builder.Services.AddSingleton(static services => StoreRootIdentity.Of(services.GetRequiredService<IOptions<LayerStoreOptions>>().Value.Root));
        builder.Services.AddSingleton(static services =>
        {
            services.GetRequiredService<StoreRootIdentity>();
            return LayerStoreFactory.Create(services.GetRequiredService<IOptions<LayerStoreOptions>>().Value);
        });
        builder.Services.AddOptions<CompressionOptions>()
            .BindConfiguration(CompressionOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(static o => o.Gzip.Level is >= 1 and <= 9, "Export:Gzip:Level must be 1 to 9.")
            .Validate(static o => o.Gzip.BlockSize is >= 64 * 1024 and <= 64 * 1024 * 1024, "Export:Gzip:BlockSize must be 64 KiB to 64 MiB.")
            .Validate(static o => o.Zstd.Level is >= 1 and <= 19, "Export:Zstd:Level must be 1 to 19.")
            .ValidateOnStart();
        builder.Services.AddSingleton(static services => new LayerExporter(
            services.GetRequiredService<ILayerStore>(),
            services.GetRequiredService<IOptions<CompressionOptions>>().Value));
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
