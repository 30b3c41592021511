using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace LayerExport.TestSupport;

/// <summary>Builds a Docker data-root (overlay2) as <c>docker pull</c> leaves one: each layer's tar recorded by tar-split in the layer database, its files unpacked into <c>overlay2/&lt;cache-id&gt;/diff</c>.</summary>
/// <remarks>
/// GNU tar makes the tar from a tree the test wrote, the same bytes on every run: names sorted, PAX format without
/// atime or ctime, owner and group 0, every member's mtime <see cref="NativeStoreBuilder.FixedModificationTime"/>.
/// Debian's <c>tar-split disasm</c> records it, as Docker does when it pulls a layer.
/// </remarks>
public sealed class DockerStoreBuilder(string root)
{
    /// <summary>The data-root (<c>LayerStore:Root</c> with <c>LayerStore:Layout=docker</c>).</summary>
    public string Root { get; } = Directory.CreateDirectory(root).FullName;

    /// <summary>Archives the tree under <paramref name="source"/> (members named <c>./...</c>) as base layer <paramref name="name"/>.</summary>
    /// <returns>The layer's chain ID (hex, no algorithm), which for a base layer is its diffID, the sha256 of its tar; and the tar.</returns>
    public async Task<(string ChainId, byte[] Tar)> AddBaseLayerAsync(string name, string source)
    {
        using var scratch = new TemporaryDirectory("docker-store-tar");
        var tarPath = scratch.Combine("layer.tar");
        var mtime = new DateTimeOffset(NativeStoreBuilder.FixedModificationTime).ToUnixTimeSeconds().ToString(CultureInfo.InvariantCulture);
        (await ExternalTool.RunAsync(
            "tar", "-C", source, "--sort=name", "--format=posix", "--pax-option=exthdr.name=%d/PaxHeaders/%f,delete=atime,delete=ctime",
            "--owner=0", "--group=0", "--numeric-owner", $"--mtime=@{mtime}", "-cf", tarPath, ".")).EnsureSuccess($"tar of {source}");
        var tar = await File.ReadAllBytesAsync(tarPath);

        var chain = Convert.ToHexStringLower(SHA256.HashData(tar));
        var cacheId = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("cache:" + name)));
        var layerDb = Directory.CreateDirectory(Path.Combine(Root, "image", "overlay2", "layerdb", "sha256", chain)).FullName;
        var diff = Directory.CreateDirectory(Path.Combine(Root, "overlay2", cacheId, "diff")).FullName;
        (await ExternalTool.RunAsync("tar-split", "disasm", "--no-stdout", "--output", Path.Combine(layerDb, "tar-split.json.gz"), tarPath)).EnsureSuccess($"tar-split disasm of {name}");
        (await ExternalTool.RunAsync("tar", "-xpf", tarPath, "-C", diff)).EnsureSuccess($"unpacking {name}");
        await File.WriteAllTextAsync(Path.Combine(layerDb, "diff"), "sha256:" + chain);
        await File.WriteAllTextAsync(Path.Combine(layerDb, "cache-id"), cacheId);
        return (chain, tar);
    }
}
