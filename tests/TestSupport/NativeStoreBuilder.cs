using System.Runtime.Versioning;

namespace LayerExport.TestSupport;

/// <summary>Builds a layer store in the native layout: <c>&lt;root&gt;/&lt;id&gt;/layer.json</c> and <c>diff/</c>.</summary>
public sealed class NativeStoreBuilder(string root)
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

    /// <summary>Writes a file (creating its directories) with the fixed mtime; returns its path.</summary>
    public static string WriteFile(string diff, string relativePath, byte[] content)
    {
        var path = Path.Combine(diff, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, content);
        File.SetLastWriteTimeUtc(path, FixedModificationTime);
        return path;
    }

    /// <summary>A file of <paramref name="length"/> bytes that is all holes: no disk space, zeros when read.</summary>
    public static string WriteSparseFile(string diff, string relativePath, long length)
    {
        var path = Path.Combine(diff, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            file.SetLength(length);
        }

        File.SetLastWriteTimeUtc(path, FixedModificationTime);
        return path;
    }

    /// <summary>Gives every directory under <paramref name="diff"/> the fixed mtime (writing files into them changed it).</summary>
    public static void FixDirectoryTimes(string diff)
    {
        foreach (var directory in Directory.EnumerateDirectories(diff, "*", SearchOption.AllDirectories))
        {
            Directory.SetLastWriteTimeUtc(directory, FixedModificationTime);
        }
    }

    /// <summary>Lets any user list <paramref name="directory"/> (temporary directories are created owner-only; what is made inside them is not).</summary>
    [SupportedOSPlatform("linux")]
    public static void OpenToEveryone(string directory) =>
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute
            | UnixFileMode.GroupRead | UnixFileMode.GroupExecute | UnixFileMode.OtherRead | UnixFileMode.OtherExecute);
}
