using LayerExport.Core.Compression;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>Registers the codec settings of the compressed representations.</summary>
internal static partial class CompressionExtensions
{
    /// <summary>Binds <c>Export</c> and validates it at start; the nested gzip and zstd settings are checked here, as data annotations stop at the top level.</summary>
    public static WebApplicationBuilder AddCompression(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<CompressionOptions>()
            .BindConfiguration(CompressionOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(static o => o.Gzip.Level is >= 1 and <= 9, "Export:Gzip:Level must be 1 to 9.")
            .Validate(static o => o.Gzip.BlockSize is >= 64 * 1024 and <= 64 * 1024 * 1024, "Export:Gzip:BlockSize must be 64 KiB to 64 MiB.")
            .Validate(static o => o.Zstd.Level is >= 1 and <= 19, "Export:Zstd:Level must be 1 to 19.")
            .Validate(static o => Enum.IsDefined(o.Zstd.Library), "Export:Zstd:Library must be Auto, Native or Managed.")
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<CompressionOptions>, ZstdLibraryCheck>();
        return builder;
    }

    /// <summary>Logs which zstd implementation compresses, and why not the native one when it is not.</summary>
    public static WebApplication ReportZstdImplementation(this WebApplication app)
    {
        var options = app.Services.GetRequiredService<IOptions<CompressionOptions>>().Value;
        var implementation = ZstdImplementation.Resolve(options.Zstd);
        var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(CompressionExtensions).FullName!);
        if (implementation.NativeUnavailable is { } reason)
        {
            ZstdManaged(logger, implementation.Description, reason);
        }
        else
        {
            ZstdImplementationChosen(logger, implementation.Description);
        }

        return app;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "zstd compresses with {Implementation}")]
    private static partial void ZstdImplementationChosen(ILogger logger, string implementation);

    [LoggerMessage(Level = LogLevel.Information, Message = "zstd compresses with {Implementation}, the same bytes more slowly: {Reason}")]
    private static partial void ZstdManaged(ILogger logger, string implementation, string reason);
}
