using LayerExport.Core.Store;

namespace LayerExport.Core.Tests.Support;

/// <summary>A <c>snapshots</c> layer store in a temp directory: <c>&lt;id&gt;/layer.json</c> and a full tree in <c>&lt;id&gt;/fs/</c>.</summary>
internal sealed class TestSnapshotStore : IDisposable
{
    private readonly TempDirectory _store = new();

    public string Root => _store.Path;

    /// <summary>A scratch directory outside the store, for archives and extractions.</summary>
    public TempDirectory Outputs { get; } = new();

    /// <summary>Creates a layer with an empty tree.</summary>
    public LayerTree AddLayer(string id, string? parent = null)
    {
        Directory.CreateDirectory(Path.Combine(Root, id, "fs"));
        WriteLayerJson(id, parent);
        return new LayerTree(Path.Combine(Root, id, "fs"));
    }

    /// <summary>Creates a child layer whose tree starts as an exact copy of the parent's (cp -a: owners, modes, times, links, xattrs).</summary>
    public async Task<LayerTree> CopyLayerAsync(string parent, string id)
    {
        Directory.CreateDirectory(Path.Combine(Root, id));
        await ExternalTool.RunCheckedAsync("cp", "-a", "--preserve=all", Path.Combine(Root, parent, "fs"), Path.Combine(Root, id, "fs"));
        WriteLayerJson(id, parent);
        return new LayerTree(Path.Combine(Root, id, "fs"));
    }

    public async Task<byte[]> ExportAsync(string id)
    {
        using var store = new SnapshotLayerStore(Root);
        return await TarExport.ToBytesAsync(store, id, CancellationToken.None);
    }

    /// <summary>Exports <paramref name="id"/> to a file outside the store and returns the file's path.</summary>
    public async Task<string> ExportToFileAsync(string id)
    {
        var path = Outputs.Combine($"{id}-{Guid.NewGuid():N}.tar");
        await File.WriteAllBytesAsync(path, await ExportAsync(id));
        return path;
    }

    public void Dispose()
    {
        _store.Dispose();
        Outputs.Dispose();
    }

    private void WriteLayerJson(string id, string? parent) =>
        File.WriteAllText(Path.Combine(Root, id, "layer.json"), parent is null ? "{}" : $"{{\"parent\": \"{parent}\"}}");
}
