using LayerExport.Core.Blobs;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>Registers the cache of compressed bodies.</summary>
internal static partial class BlobCacheExtensions
{
    /// <summary>Binds <c>BlobCache</c>, validates it at start and registers the <see cref="BlobCache"/> (off unless a directory is set).</summary>
    public static WebApplicationBuilder AddBlobCache(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<BlobCacheOptions>().BindConfiguration(BlobCacheOptions.SectionName).ValidateDataAnnotations().ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<BlobCacheOptions>, BlobCacheDirectoryCheck>();
        builder.Services.AddSingleton(static services =>
        {
            var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(BlobCache).FullName!);
            var options = services.GetRequiredService<IOptions<BlobCacheOptions>>().Value;

            // Keeping is best effort, but an operator must learn that compressed downloads are being made again.
            void WriteFailed(string reason) => BodyNotKept(logger, reason);
            return new BlobCache(string.IsNullOrWhiteSpace(options.Directory) ? null : options.Directory, options.MaxBytes, WriteFailed);
        });
        return builder;
    }

    /// <summary>Opens the cache now, a directory made unsafe after start then costing only its bodies, never a request, and prunes it.</summary>
    public static WebApplication OpenBlobCache(this WebApplication app)
    {
        app.Services.GetRequiredService<BlobCache>().PruneSoon();
        return app;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "A compressed body was not kept in BlobCache:Directory: {Reason}; others that fail likewise are not logged until one is kept again")]
    private static partial void BodyNotKept(ILogger logger, string reason);
}
