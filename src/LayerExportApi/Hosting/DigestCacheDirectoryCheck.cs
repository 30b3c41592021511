using LayerExport.Core.Digest;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>Refuses at start a <c>DigestCache:Directory</c> that another user could change, naming the directory at fault.</summary>
internal sealed class DigestCacheDirectoryCheck : IValidateOptions<DigestCacheOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, DigestCacheOptions options) =>
        PrivateDirectorySetting.Validate("DigestCache:Directory", options.Directory, DigestCache.CheckDirectory);
}
