using System.Text.Json;

namespace IntegrationTests.Support;

/// <summary>A native-layout layer store in a fresh temp directory, built by the test and deleted afterwards.</summary>
internal sealed class TempLayerStore : IDisposable
{
    private TempLayerStore(string root) => Root = root;

    public string Root { get; }

    public static TempLayerStore Create() =>
        new(Directory.CreateTempSubdirectory("layer-store-").FullName);

    /// <summary>Adds <c>&lt;id&gt;/layer.json</c> naming <paramref name="parent"/> and an empty <c>diff/</c>.</summary>
    public TempLayerStore AddLayer(string id, string? parent = null)
    {
        var metadata = parent is null ? "{}" : JsonSerializer.Serialize(new { parent });
        return AddLayerWithMetadata(id, metadata);
    }

    /// <summary>Adds a layer whose <c>layer.json</c> holds exactly <paramref name="layerJson"/>.</summary>
    public TempLayerStore AddLayerWithMetadata(string id, string layerJson)
    {
        Directory.CreateDirectory(DiffPath(id));
        File.WriteAllText(Path.Combine(Root, id, "layer.json"), layerJson);
        return this;
    }

    /// <summary>Writes a regular file into a layer's <c>diff/</c>, creating its directories.</summary>
    public TempLayerStore AddFile(string id, string relativePath, byte[] content)
    {
        var path = Path.Combine(DiffPath(id), relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        return this;
    }

    /// <summary>Writes a file of <paramref name="length"/> bytes of a non-zero pattern, so nothing about it is sparse.</summary>
    public TempLayerStore AddPatternFile(string id, string relativePath, long length)
    {
        var path = Path.Combine(DiffPath(id), relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var block = new byte[1024 * 1024];
        for (var i = 0; i < block.Length; i++)
        {
            block[i] = (byte)(i % 251 + 1);
        }

        using var file = File.Create(path);
        for (var left = length; left > 0; left -= block.Length)
        {
            file.Write(block, 0, (int)Math.Min(left, block.Length));
        }

        return this;
    }

    /// <summary>Makes <c>&lt;root&gt;/&lt;id&gt;</c> a symbolic link to <paramref name="targetDirectory"/>.</summary>
    public TempLayerStore AddSymlinkedLayer(string id, string targetDirectory)
    {
        File.CreateSymbolicLink(Path.Combine(Root, id), targetDirectory);
        return this;
    }

    public string DiffPath(string id) => Path.Combine(Root, id, "diff");

    public void Dispose() => Directory.Delete(Root, recursive: true);
}
