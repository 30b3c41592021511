namespace LayerExport.Core.Tests.Support;

/// <summary>bsdtar (libarchive), an independent tar reader.</summary>
internal static class BsdTar
{
    /// <summary>The verbose listing; fails on any error or warning.</summary>
    public static async Task<IReadOnlyList<string>> ListVerboseAsync(string archivePath)
    {
        var result = await ExternalTool.RunCheckedAsync("bsdtar", "-tvf", archivePath);
        Assert.True(result.Stderr.Length == 0, $"{result.CommandLine} warned:\n{result.Stderr}");
        return result.StdoutLines;
    }
}
