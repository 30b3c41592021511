using LayerExport.Core.Digest;
using LayerExport.Core.Native;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>Refuses at start a <c>DigestCache:Directory</c> that another user could change, naming the directory at fault.</summary>
internal sealed class DigestCacheDirectoryCheck : IValidateOptions<DigestCacheOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, DigestCacheOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Directory))
        {
            return ValidateOptionsResult.Success;
        }

        try
        {
            DigestCache.CheckDirectory(options.Directory);
            return ValidateOptionsResult.Success;
        }
        catch (UnsafeDirectoryException e)
        {
            return ValidateOptionsResult.Fail($"DigestCache:Directory is unsafe: {e.Message}");
        }
        catch (NativeIOException e)
        {
            return ValidateOptionsResult.Fail($"DigestCache:Directory cannot be opened or created: {e.Message}");
        }
    }
}
