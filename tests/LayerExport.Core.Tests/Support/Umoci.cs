namespace LayerExport.Core.Tests.Support;

/// <summary>umoci, an independent OCI image tool: stacks layer tars into an image and unpacks it the way runtimes do.</summary>
internal static class Umoci
{
    /// <summary>Applies <paramref name="layers"/> (plain tars, base first) and returns the resulting root file system.</summary>
    public static async Task<string> UnpackAsync(string workDirectory, params string[] layers)
    {
        var image = Path.Combine(workDirectory, "image");
        var bundle = Path.Combine(workDirectory, "bundle");
        await ExternalTool.RunCheckedAsync("umoci", "init", "--layout", image);
        await ExternalTool.RunCheckedAsync("umoci", "new", "--image", image + ":t");
        foreach (var layer in layers)
        {
            await ExternalTool.RunCheckedAsync("umoci", "raw", "add-layer", "--image", image + ":t", layer);
        }

        await ExternalTool.RunCheckedAsync("umoci", "unpack", "--image", image + ":t", bundle);
        return Path.Combine(bundle, "rootfs");
    }
}
