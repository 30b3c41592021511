using System.Security.Cryptography;
using System.Text;

namespace LayerExport.Core.Tests.Support;

/// <summary>
/// Layers of a Docker data-root built the way Docker builds them: a tar made by GNU tar, disassembled by the
/// tar-split tool into the layer database, its files unpacked into overlay2.
/// </summary>
/// <remarks>Also compiled into the integration tests, which serve such a data-root.</remarks>
internal static class DockerDataRoot
{
    /// <summary>
    /// Adds layer <paramref name="name"/> on <paramref name="parent"/> (a chain ID) under <paramref name="root"/>:
    /// <c>etc/config.txt</c>, 70,000 random bytes, a path over 100 characters and a symbolic link, archived by GNU
    /// tar with <paramref name="tarOptions"/> (such as <c>--format=gnu</c>); with <c>--sparse</c> among them, also
    /// <c>holes.bin</c>, 1 MiB with three bytes in the middle.
    /// </summary>
    public static Task<(string ChainId, byte[] Tar)> AddLayerAsync(string root, string name, string? parent, params string[] tarOptions) =>
        AddLayerAsync(root, name, parent, static tar => tar, tarOptions);

    /// <summary>Like <see cref="AddLayerAsync(string, string, string?, string[])"/>, the layer's tar being GNU tar's as <paramref name="pulled"/> changes it (the tar a pull would have met).</summary>
    public static async Task<(string ChainId, byte[] Tar)> AddLayerAsync(string root, string name, string? parent, Func<byte[], byte[]> pulled, params string[] tarOptions)
    {
        var source = Directory.CreateDirectory(Path.Combine(root, $"src-{name}")).FullName;
        Directory.CreateDirectory(Path.Combine(source, "etc"));
        await File.WriteAllTextAsync(Path.Combine(source, "etc", "config.txt"), $"layer {name}\n");
        await File.WriteAllBytesAsync(Path.Combine(source, name + ".bin"), RandomNumberGenerator.GetBytes(70_000));
        Directory.CreateDirectory(Path.Combine(source, "deep", new string('d', 120)));
        await File.WriteAllTextAsync(Path.Combine(source, "deep", new string('d', 120), new string('f', 110)), "long names\n");
        File.CreateSymbolicLink(Path.Combine(source, "link"), "etc/config.txt");
        if (tarOptions.Contains("--sparse"))
        {
            await using var holes = File.Create(Path.Combine(source, "holes.bin"));
            holes.SetLength(1024 * 1024);
            holes.Position = 500_000;
            await holes.WriteAsync("abc"u8.ToArray());
        }

        var tarPath = Path.Combine(root, $"{name}.tar");
        await ExternalTool.RunCheckedAsync("tar", ["-cf", tarPath, .. tarOptions, "-C", source, "."]);
        var tar = pulled(await File.ReadAllBytesAsync(tarPath));
        await File.WriteAllBytesAsync(tarPath, tar);

        var chain = ChainId(name);
        var layerDb = Directory.CreateDirectory(Path.Combine(root, $"image/overlay2/layerdb/sha256/{chain}")).FullName;
        var diff = Directory.CreateDirectory(Path.Combine(root, $"overlay2/{CacheId(name)}/diff")).FullName;
        await ExternalTool.RunCheckedAsync("tar-split", "disasm", "--output", Path.Combine(layerDb, "tar-split.json.gz"), tarPath);
        await ExternalTool.RunCheckedAsync("tar", "-xf", tarPath, "-C", diff);
        await File.WriteAllTextAsync(Path.Combine(layerDb, "cache-id"), CacheId(name));
        await File.WriteAllTextAsync(Path.Combine(layerDb, "diff"), "sha256:" + Sha256(tar));
        if (parent is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(layerDb, "parent"), "sha256:" + parent);
        }

        return (chain, tar);
    }

    /// <summary>The chain ID (hex, no algorithm) <see cref="AddLayerAsync(string, string, string?, string[])"/> gives layer <paramref name="name"/>.</summary>
    public static string ChainId(string name) => Sha256(Encoding.UTF8.GetBytes("chain:" + name));

    /// <summary>The overlay2 directory name (cache ID) of layer <paramref name="name"/>.</summary>
    public static string CacheId(string name) => Sha256(Encoding.UTF8.GetBytes("cache:" + name));

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
