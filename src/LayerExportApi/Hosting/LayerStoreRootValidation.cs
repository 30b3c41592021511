using LayerExport.Core.Store;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>Refuses at start a <c>LayerStore:Root</c> that is not a directory this process can open, naming the path it was resolved to.</summary>
/// <remarks>A relative root is taken from the content root, which for <c>dotnet &lt;dll&gt;</c> is the working directory: the path tells where it looked.</remarks>
internal sealed class LayerStoreRootValidation : IValidateOptions<LayerStoreOptions>
{
    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, LayerStoreOptions options)
    {
        if (string.IsNullOrWhiteSpace(options.Root))
        {
            return ValidateOptionsResult.Success;
        }

        if (!Directory.Exists(options.Root))
        {
            return ValidateOptionsResult.Fail($"LayerStore:Root does not name an existing directory: {options.Root}.");
        }

        try
        {
            // A directory the server's user may not enter exists all the same; opening it is what the store does.
            StoreRootIdentity.Of(options.Root);
            return ValidateOptionsResult.Success;
        }
        catch (IOException e)
        {
            return ValidateOptionsResult.Fail($"LayerStore:Root cannot be opened by this process: {e.Message}.");
        }
    }
}
