namespace LayerExport.TestSupport;

/// <summary>A directory under the system temp directory, deleted with everything in it on dispose.</summary>
/// <param name="prefix">The start of its name (the suite and the test, e.g. <c>stress-fuzz</c>); a dash and a random part follow.</param>
public sealed class TemporaryDirectory(string prefix) : IDisposable
{
    public string Path { get; } = Directory.CreateTempSubdirectory($"{prefix}-").FullName;

    /// <summary>A path inside the directory (not created).</summary>
    public string Combine(params string[] parts) => System.IO.Path.Combine([Path, .. parts]);

    /// <summary>A new, empty subdirectory.</summary>
    public string CreateSubdirectory(string name) => Directory.CreateDirectory(Combine(name)).FullName;

    public void Dispose() => Directory.Delete(Path, recursive: true);
}
