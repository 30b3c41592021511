using LayerExport.Core.Blobs;
using LayerExport.Core.Native;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>Refuses at start a <c>BlobCache:Directory</c> that another user could change, naming the directory at fault.</summary>
internal sealed class BlobCacheDirectoryCheck : IValidateOptions<BlobCacheOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, BlobCacheOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Directory))
        {
            return ValidateOptionsResult.Success;
        }

        try
        {
            BlobCache.CheckDirectory(options.Directory);
            return ValidateOptionsResult.Success;
        }
        catch (UnsafeDirectoryException e)
        {
            return ValidateOptionsResult.Fail($"BlobCache:Directory is unsafe: {e.Message}");
        }
        catch (NativeIOException e)
        {
            return ValidateOptionsResult.Fail($"BlobCache:Directory cannot be opened or created: {e.Message}");
        }
    }
}
