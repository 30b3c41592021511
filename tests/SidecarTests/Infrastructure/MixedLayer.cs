using System.Text;
using LayerExport.TestSupport;

namespace SidecarTests.Infrastructure;

/// <summary>The layer most sidecar tests export: a bit of everything, several MiB of it.</summary>
internal static class MixedLayer
{
    /// <summary>A layer with directories, small and multi-MiB files (compressible and not), a symlink and a hard link.</summary>
    /// <remarks>Several MiB of content, so that the gzip stage cuts more than a few blocks and uses every thread.</remarks>
    public static string AddMixedLayer(this NativeStoreBuilder store, string id, int seed = 1)
    {
        var diff = store.AddLayer(id);
        NativeStoreBuilder.WriteFile(diff, "etc/hostname", Encoding.ASCII.GetBytes("sidecar\n"));
        NativeStoreBuilder.WriteFile(diff, "etc/config.ini", Encoding.ASCII.GetBytes(string.Concat(Enumerable.Range(0, 500).Select(i => $"key{i} = value {i * 7}\n"))));
        NativeStoreBuilder.WriteFile(diff, "usr/share/text.log", TestContent.Text(seed, 5 * 1024 * 1024));
        NativeStoreBuilder.WriteFile(diff, "usr/lib/random.bin", TestContent.Random(seed, 3 * 1024 * 1024));
        NativeStoreBuilder.WriteFile(diff, "usr/lib/empty", []);
        File.CreateSymbolicLink(Path.Combine(diff, "usr/lib/link"), "random.bin");
        HardLink.Create(Path.Combine(diff, "usr/lib/random.bin"), Path.Combine(diff, "usr/lib/hard"));
        NativeStoreBuilder.FixDirectoryTimes(diff);
        return diff;
    }
}
