namespace LayerExport.Core.Tests.Support;

/// <summary>A fresh directory under the system temp directory (or one given), removed with everything in it on dispose.</summary>
internal sealed class TempDirectory : IDisposable
{
    public TempDirectory()
        : this("layerexport-")
    {
    }

    /// <summary>A directory whose name starts with <paramref name="prefix"/>, under <paramref name="parent"/> when given.</summary>
    public TempDirectory(string prefix, string? parent = null)
    {
        Path = System.IO.Path.Combine(parent ?? System.IO.Path.GetTempPath(), prefix + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Combine(string relative) => System.IO.Path.Combine(Path, relative);

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
