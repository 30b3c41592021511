using LayerExport.Core.Compression;

namespace LayerExportApi.Hosting;

/// <summary>Registers the codec settings of the compressed representations.</summary>
internal static class CompressionExtensions
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
            .ValidateOnStart();
        return builder;
    }
}
