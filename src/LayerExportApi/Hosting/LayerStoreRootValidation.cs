using LayerExport.Core.Store;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>Refuses at start a <c>LayerStore:Root</c> that is not a directory, naming the path it was resolved to.</summary>
/// <remarks>A relative root is taken from the content root, which for <c>dotnet &lt;dll&gt;</c> is the working directory: the path tells where it looked.</remarks>
internal sealed class LayerStoreRootValidation : IValidateOptions<LayerStoreOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, LayerStoreOptions options) =>
        string.IsNullOrWhiteSpace(options.Root) || Directory.Exists(options.Root)
            ? ValidateOptionsResult.Success
            : ValidateOptionsResult.Fail($"LayerStore:Root does not name an existing directory: {options.Root}.");
}
