using System.Security.Cryptography;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>On a file system that stamps whole seconds, a change within the second of the last keeps the ctime: what tells such changes apart.</summary>
[Collection(SerialTests.Name)]
public sealed class CoarseTimestampTests
{
    private const string Layer = "racy";

    [Fact]
    public async Task ADigestReadOfAFileThatIsThenRewrittenWithinItsSecondIsNotAnnouncedForTheNewBytes()
    {
        await using var fileSystem = await ScratchFileSystem.MountAsync(ScratchFileSystem.SecondsExt4);
        var store = Path.Combine(fileSystem.MountPoint, "store");
        var file = Path.Combine(Directory.CreateDirectory(Path.Combine(store, Layer, "diff")).FullName, "config");
        await File.WriteAllTextAsync(Path.Combine(store, Layer, "layer.json"), "{}");
        using var layers = new NativeLayerStore(store);
        using var descriptors = new LayerDescriptors(new LayerExporter(layers), new DigestCache(directory: null), new CompressionOptions());

        // A second may pass between the two writes (then the ctime moves and there is no race to show): tried again.
        for (var attempt = 0; attempt < 10; attempt++)
        {
            await File.WriteAllTextAsync(file, $"before {attempt}\n");
            var read = Survey(layers);
            var described = await descriptors.GetAsync(Layer, read, LayerCompression.None, CancellationToken.None);
            await File.WriteAllTextAsync(file, $"after! {attempt}\n");
            var rewritten = Survey(layers);
            if (rewritten.Fingerprint != read.Fingerprint)
            {
                continue;
            }

            // Kept, the digest of "before" would be announced (ETag, Docker-Content-Digest) and trusted for ranges of "after!".
            var now = await TarExport.ToBytesAsync(layers, Layer, CancellationToken.None);
            Assert.NotEqual(LayerDigest.FromHash(SHA256.HashData(now)), described.Digest);
            Assert.Null(descriptors.TryGetKnown(Layer, rewritten, LayerCompression.None));
            return;
        }

        Assert.Fail("every rewrite moved the ctime to another second: the race was never set up");
    }

    // A chmod or chown within the second of the open keeps the ctime (as within one jiffy on kernels before multigrain
    // timestamps); the header's mode or owner is then no longer the file's, and they themselves must tell.
    [Theory]
    [InlineData(0x180, 0, 0)]
    [InlineData(0x1A4, 1, 0)]
    [InlineData(0x1A4, 0, 1)]
    public async Task AFileWhoseModeOrOwnerChangedWithinTheSecondItWasOpenedInWasChanged(int mode, int uid, int gid)
    {
        await using var fileSystem = await ScratchFileSystem.MountAsync(ScratchFileSystem.SecondsExt4);
        var path = Path.Combine(fileSystem.MountPoint, "file");
        await File.WriteAllTextAsync(path, "content");
        using var directory = FileDescriptor.OpenDirectory(fileSystem.MountPoint);
        var listed = new DirectoryEntry("file"u8.ToArray(), Libc.DT_REG, directory.StatAt("file"u8).Inode);

        // A second may pass between the open and the change (then the ctime moves and there is no race to show): tried again.
        for (var attempt = 0; attempt < 10; attempt++)
        {
            Posix.ChangeMode(path, 0x1A4);
            Posix.ChangeOwner(path, 0, 0);
            using var entry = new DiskEntryReader(openContent: true).Read(directory, listed, "file"u8.ToArray(), directory.Stat().Device, out _);
            var opened = directory.StatAt("file"u8);
            Posix.ChangeMode(path, mode);
            Posix.ChangeOwner(path, uid, gid);
            var changed = directory.StatAt("file"u8);
            if (changed.CtimeSeconds != opened.CtimeSeconds || changed.CtimeNanoseconds != opened.CtimeNanoseconds)
            {
                continue;
            }

            var error = Record.Exception(() => entry!.Content!.EnsureUnchanged());
            Assert.Equal("file was changed while being read", Assert.IsType<LayerChangedException>(error).Message);
            return;
        }

        Assert.Fail("every change moved the ctime to another second: the race was never set up");
    }

    private static LayerSurvey Survey(ILayerStore store)
    {
        using var export = new LayerExporter(store).Prepare(Layer, []);
        return export.Survey(CancellationToken.None);
    }
}
