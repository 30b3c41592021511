using System.Text;

namespace SidecarTests.Infrastructure;

/// <summary>Builds a layer store in the native layout: <c>&lt;root&gt;/&lt;id&gt;/layer.json</c> and <c>diff/</c>.</summary>
internal sealed class NativeStoreBuilder(string root)
{
    /// <summary>The mtime every built file gets, so that tar headers do not depend on when the test ran.</summary>
    public static readonly DateTime FixedModificationTime = new(2021, 3, 4, 5, 6, 7, DateTimeKind.Utc);

    public string Root { get; } = Directory.CreateDirectory(root).FullName;

    /// <summary>Creates the layer directory and its layer.json; returns the (empty) diff directory.</summary>
    public string AddLayer(string id, string? parent = null)
    {
        var layer = Directory.CreateDirectory(Path.Combine(Root, id)).FullName;
        var json = parent is null ? "{}" : $"{{\"parent\": \"{parent}\"}}";
        File.WriteAllText(Path.Combine(layer, "layer.json"), json);
        return Directory.CreateDirectory(Path.Combine(layer, "diff")).FullName;
    }

    /// <summary>Writes a file (creating its directories) and gives it the fixed mtime.</summary>
    public static string WriteFile(string diff, string relativePath, byte[] content)
    {
        var path = Path.Combine(diff, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        File.SetLastWriteTimeUtc(path, FixedModificationTime);
        return path;
    }

    /// <summary>A layer with directories, small and multi-MiB files (compressible and not), a symlink and a hard link.</summary>
    /// <remarks>Several MiB of content, so that the gzip stage cuts more than a few blocks and uses every thread.</remarks>
    public string AddMixedLayer(string id, int seed = 1)
    {
        var diff = AddLayer(id);
        WriteFile(diff, "etc/hostname", Encoding.ASCII.GetBytes("sidecar\n"));
        WriteFile(diff, "etc/config.ini", Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 500).Select(i => $"key{i} = value {i * 7}\n"))));
        WriteFile(diff, "usr/share/text.log", TestContent.Text(seed, 5 * 1024 * 1024));
        WriteFile(diff, "usr/lib/random.bin", TestContent.Random(seed, 3 * 1024 * 1024));
        WriteFile(diff, "usr/lib/empty", []);
        File.CreateSymbolicLink(Path.Combine(diff, "usr/lib/link"), "random.bin");
        HardLink.Create(Path.Combine(diff, "usr/lib/random.bin"), Path.Combine(diff, "usr/lib/hard"));
        foreach (var directory in Directory.EnumerateDirectories(diff, "*", SearchOption.AllDirectories))
        {
            Directory.SetLastWriteTimeUtc(directory, FixedModificationTime);
        }

        return diff;
    }
}
