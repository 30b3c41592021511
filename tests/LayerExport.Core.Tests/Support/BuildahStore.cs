using System.Security.Cryptography;
using System.Text.Json;

namespace LayerExport.Core.Tests.Support;

/// <summary>
/// A containers/storage root (vfs driver) filled by Buildah: img1 from scratch with copied files, img2 from img1
/// with deletions, additions and a modification, img3 from img2 with a hard link; their working containers stay.
/// </summary>
internal sealed class BuildahStore : IDisposable
{
    private BuildahStore(TempDirectory directory) => Directory = directory;

    public TempDirectory Directory { get; }

    public string Root => Directory.Combine("root");

    /// <summary>The layer of each image's working container (in creation order); they have no tar-split record.</summary>
    public IReadOnlyList<string> ContainerLayers => ReadJson("vfs-containers/containers.json").EnumerateArray()
        .Select(static c => c.GetProperty("layer").GetString()!).ToList();

    /// <summary>Every layer as layers.json records it.</summary>
    public IReadOnlyList<RecordedLayer> Layers => ReadJson("vfs-layers/layers.json").EnumerateArray()
        .Select(static l => new RecordedLayer(
            l.GetProperty("id").GetString()!,
            l.TryGetProperty("parent", out var p) ? p.GetString() : null,
            l.TryGetProperty("diff-digest", out var d) ? d.GetString() : null,
            l.TryGetProperty("diff-size", out var s) ? s.GetInt64() : null))
        .ToList();

    public static async Task<BuildahStore> CreateAsync()
    {
        var store = new BuildahStore(new TempDirectory());
        try
        {
            await store.BuildAsync();
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        // Best effort: buildah releases its mounts and locks; the directory goes either way (as root, read-only dirs too).
        RunBuildahAsync("rm", "--all").GetAwaiter().GetResult();
        RunBuildahAsync("rmi", "--all", "--force").GetAwaiter().GetResult();
        Directory.Dispose();
    }

    private async Task BuildAsync()
    {
        var source = System.IO.Directory.CreateDirectory(Directory.Combine("src")).FullName;
        System.IO.Directory.CreateDirectory(Path.Combine(source, "dir", "nested", "deeper"));
        System.IO.Directory.CreateDirectory(Path.Combine(source, "gone"));
        await File.WriteAllTextAsync(Path.Combine(source, "a.txt"), "hello\n");
        await File.WriteAllTextAsync(Path.Combine(source, "gone", "g.txt"), "soon deleted\n");
        await File.WriteAllBytesAsync(Path.Combine(source, "empty"), []);
        await File.WriteAllBytesAsync(Path.Combine(source, "big.bin"), RandomNumberGenerator.GetBytes(1_500_000));
        await File.WriteAllTextAsync(Path.Combine(source, "dir", "nested", "deeper", "n.txt"), "nested\n");
        File.CreateSymbolicLink(Path.Combine(source, "link"), "a.txt");

        var first = await BuildahAsync("from", "scratch");
        await BuildahAsync("copy", first, source, "/");
        await BuildahAsync("commit", first, "img1");

        var second = await BuildahAsync("from", "img1");
        var mount = await BuildahAsync("mount", second);
        File.Delete(Path.Combine(mount, "a.txt"));
        System.IO.Directory.Delete(Path.Combine(mount, "gone"), recursive: true);
        await File.WriteAllTextAsync(Path.Combine(mount, "new.txt"), "added in img2\n");
        await File.WriteAllTextAsync(Path.Combine(mount, "dir", "nested", "deeper", "n.txt"), "modified in img2\n");
        await BuildahAsync("umount", second);
        await BuildahAsync("commit", second, "img2");

        var third = await BuildahAsync("from", "img2");
        mount = await BuildahAsync("mount", third);
        Posix.HardLink(Path.Combine(mount, "new.txt"), Path.Combine(mount, "new-link.txt"));
        await File.AppendAllTextAsync(Path.Combine(mount, "new.txt"), "and in img3\n");
        await BuildahAsync("umount", third);
        await BuildahAsync("commit", third, "img3");
    }

    private async Task<string> BuildahAsync(params string[] arguments)
    {
        var result = await ExternalTool.RunCheckedAsync("buildah", [.. GlobalOptions(), .. arguments]);
        return result.StdoutText.Trim().Split('\n')[^1];
    }

    private Task<ToolResult> RunBuildahAsync(params string[] arguments) => ExternalTool.RunAsync("buildah", [.. GlobalOptions(), .. arguments]);

    private string[] GlobalOptions() =>
        ["--root", Root, "--runroot", Directory.Combine("run"), "--storage-driver", "vfs"];

    private JsonElement ReadJson(string relative)
    {
        using var document = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, relative)));
        return document.RootElement.Clone();
    }

    /// <summary>One row of layers.json.</summary>
    public sealed record RecordedLayer(string Id, string? Parent, string? DiffDigest, long? DiffSize);
}
