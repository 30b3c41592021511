using LayerExport.Core.Compression;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>Refuses at start <c>Export:Zstd:Library=Native</c> where the native libzstd cannot be used, saying why.</summary>
internal sealed class ZstdLibraryCheck : IValidateOptions<CompressionOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, CompressionOptions options)
    {
        if (options.Zstd.Library != ZstdLibrary.Native || options.Zstd.Level is < 1 or > 19)
        {
            return ValidateOptionsResult.Success;
        }

        var implementation = ZstdImplementation.Resolve(options.Zstd);
        return implementation.Library == ZstdLibrary.Native
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"Export:Zstd:Library is Native, but the native libzstd cannot be used: {implementation.NativeUnavailable}.");
    }
}
