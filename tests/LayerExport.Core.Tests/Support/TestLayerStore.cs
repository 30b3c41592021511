namespace LayerExport.Core.Tests.Support;

/// <summary>A <c>native</c> layer store in a temp directory: <c>&lt;id&gt;/layer.json</c> and <c>&lt;id&gt;/diff/</c>.</summary>
internal sealed class TestLayerStore : IDisposable
{
    private readonly TempDirectory _store = new();
    private readonly TempDirectory _outputs = new();

    public string Root => _store.Path;

    /// <summary>A scratch directory outside the store, for archives and extractions.</summary>
    public TempDirectory Outputs => _outputs;

    /// <summary>Creates a layer with an empty <c>diff/</c> and returns a builder for its content.</summary>
    public LayerTree AddLayer(string id, string? parent = null)
    {
        var layer = Path.Combine(Root, id);
        Directory.CreateDirectory(Path.Combine(layer, "diff"));
        var json = parent is null ? "{}" : $"{{\"parent\": \"{parent}\"}}";
        File.WriteAllText(Path.Combine(layer, "layer.json"), json);
        return new LayerTree(Path.Combine(layer, "diff"));
    }

    public Task<byte[]> ExportAsync(string id, CancellationToken cancellationToken = default) =>
        TarExport.ToBytesAsync(Root, id, cancellationToken);

    /// <summary>Exports <paramref name="id"/> to a file outside the store and returns the file's path.</summary>
    public async Task<string> ExportToFileAsync(string id, CancellationToken cancellationToken = default)
    {
        var path = _outputs.Combine($"{id}-{Guid.NewGuid():N}.tar");
        await TarExport.ToFileAsync(Root, id, path, cancellationToken);
        return path;
    }

    public void Dispose()
    {
        _store.Dispose();
        _outputs.Dispose();
    }
}
