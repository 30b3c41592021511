using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>The same layer gives the same bytes in every process and with any thread count; independent tools accept them.</summary>
public sealed class ReproducibleBytesTests
{
    private const string LayerId = "app";

    private static readonly string[] MixedLayerNames =
    [
        "etc/", "etc/config.ini", "etc/hostname",
        "usr/", "usr/lib/", "usr/lib/empty", "usr/lib/hard", "usr/lib/link", "usr/lib/random.bin",
        "usr/share/", "usr/share/text.log",
    ];

    [Fact]
    public async Task TwoServerProcessesServeIdenticalBytesThatGzipZstdAndGnuTarAccept()
    {
        using var work = new TemporaryDirectory("sidecar-reproducible");
        var store = new NativeStoreBuilder(work.Combine("store"));
        store.AddMixedLayer(LayerId);
        using var first = await ApiServerProcess.StartAsync(store.Root, work.Combine("digests-first"));
        using var second = await ApiServerProcess.StartAsync(store.Root, work.Combine("digests-second"));
        Assert.NotEqual(first.Pid, second.Pid);
        using var firstClient = first.CreateClient();
        using var secondClient = second.CreateClient();

        var plainTar = await firstClient.GetOkBytesAsync(Representation.Tar.TarPath(LayerId));
        var plainTarFile = work.Combine("layer.tar");
        await File.WriteAllBytesAsync(plainTarFile, plainTar);
        Assert.Equal(MixedLayerNames, await ArchiveTools.ListWithGnuTarAsync(plainTarFile));

        foreach (var representation in Representation.All)
        {
            var fromFirst = await firstClient.GetOkBytesAsync(representation.TarPath(LayerId));
            var fromSecond = await secondClient.GetOkBytesAsync(representation.TarPath(LayerId));
            Assert.True(fromFirst.AsSpan().SequenceEqual(fromSecond), $"{representation}: the two processes sent different bytes ({fromFirst.Length} and {fromSecond.Length} bytes)");

            var file = work.Combine("layer" + representation.FileSuffix);
            await File.WriteAllBytesAsync(file, fromFirst);
            await ArchiveTools.TestIntegrityAsync(representation, file);
            var decompressed = await ArchiveTools.DecompressAsync(representation, file);
            Assert.True(decompressed.AsSpan().SequenceEqual(plainTar), $"{representation}: decompressed body ({decompressed.Length} bytes) is not the plain tar ({plainTar.Length} bytes)");
        }
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task CompressedBytesAreTheSameWithOneAndFourThreads(string compression)
    {
        var representation = Representation.Named(compression);
        using var work = new TemporaryDirectory("sidecar-threads");
        var store = new NativeStoreBuilder(work.Combine("store"));
        store.AddMixedLayer(LayerId);
        using var oneThread = await ApiServerProcess.StartAsync(store.Root, work.Combine("digests-1"), new Dictionary<string, string> { ["Export:Threads"] = "1" });
        using var fourThreads = await ApiServerProcess.StartAsync(store.Root, work.Combine("digests-4"), new Dictionary<string, string> { ["Export:Threads"] = "4" });
        using var oneClient = oneThread.CreateClient();
        using var fourClient = fourThreads.CreateClient();

        // The layer must span many 1 MiB gzip blocks for four threads to each get work.
        var plainTar = await oneClient.GetOkBytesAsync(Representation.Tar.TarPath(LayerId));
        Assert.True(plainTar.Length > 8 * 1024 * 1024, $"the test layer is only {plainTar.Length} bytes");

        var single = await oneClient.GetOkBytesAsync(representation.TarPath(LayerId));
        var parallel = await fourClient.GetOkBytesAsync(representation.TarPath(LayerId));
        Assert.True(single.AsSpan().SequenceEqual(parallel), $"{representation}: 1 thread gave {Digests.Sha256(single)} ({single.Length} bytes), 4 threads {Digests.Sha256(parallel)} ({parallel.Length} bytes)");

        var file = work.Combine("layer" + representation.FileSuffix);
        await File.WriteAllBytesAsync(file, parallel);
        await ArchiveTools.TestIntegrityAsync(representation, file);
        Assert.True((await ArchiveTools.DecompressAsync(representation, file)).AsSpan().SequenceEqual(plainTar));
    }

    [Fact]
    public async Task ZstdBytesAreTheSameFromTheNativeLibraryAndTheManagedPort()
    {
        using var work = new TemporaryDirectory("sidecar-zstd-library");
        var store = new NativeStoreBuilder(work.Combine("store"));
        store.AddMixedLayer(LayerId);
        using var native = await ApiServerProcess.StartAsync(store.Root, work.Combine("digests-native"), new Dictionary<string, string> { ["Export:Zstd:Library"] = "Native" });
        using var managed = await ApiServerProcess.StartAsync(store.Root, work.Combine("digests-managed"), new Dictionary<string, string> { ["Export:Zstd:Library"] = "Managed" });
        using var nativeClient = native.CreateClient();
        using var managedClient = managed.CreateClient();

        var fromNative = await nativeClient.GetOkBytesAsync(Representation.Named("zstd").TarPath(LayerId));
        var fromManaged = await managedClient.GetOkBytesAsync(Representation.Named("zstd").TarPath(LayerId));

        Assert.True(fromNative.AsSpan().SequenceEqual(fromManaged), $"native libzstd gave {Digests.Sha256(fromNative)} ({fromNative.Length} bytes), the managed port {Digests.Sha256(fromManaged)} ({fromManaged.Length} bytes)");
    }
}
