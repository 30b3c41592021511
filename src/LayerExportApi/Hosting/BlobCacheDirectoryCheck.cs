using LayerExport.Core.Blobs;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>Refuses at start a <c>BlobCache:Directory</c> that another user could change, naming the directory at fault.</summary>
internal sealed class BlobCacheDirectoryCheck : IValidateOptions<BlobCacheOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, BlobCacheOptions options) =>
        PrivateDirectorySetting.Validate("BlobCache:Directory", options.Directory, BlobCache.CheckDirectory);
}
