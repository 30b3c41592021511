using LayerExport.Core.Native;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>The start-up check of a setting that names a directory only the server's user may change (a cache's).</summary>
internal static class PrivateDirectorySetting
{
    /// <summary>Success for an unset or empty <paramref name="directory"/> or one <paramref name="check"/> opens or creates; else a failure naming <paramref name="setting"/> and the directory at fault.</summary>
    public static ValidateOptionsResult Validate(string setting, string? directory, Action<string> check)
    {
        if (string.IsNullOrWhiteSpace(directory))
        {
            return ValidateOptionsResult.Success;
        }

        try
        {
            check(directory);
            return ValidateOptionsResult.Success;
        }
        catch (UnsafeDirectoryException e)
        {
            return ValidateOptionsResult.Fail($"{setting} is unsafe: {e.Message}");
        }
        catch (NativeIOException e)
        {
            return ValidateOptionsResult.Fail($"{setting} cannot be opened or created: {e.Message}");
        }
    }
}
