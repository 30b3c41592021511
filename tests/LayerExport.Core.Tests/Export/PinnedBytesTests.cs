using System.Security.Cryptography;
using System.Text;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>
/// The exact bytes of fixed layers, pinned by digest: a speed-up that changes one byte of any export fails here.
/// </summary>
/// <remarks>If a change of the output is intended, it must also bump the digest cache's encoding version.</remarks>
public sealed class PinnedBytesTests : IDisposable
{
    private const long Seconds = 1_600_000_000;

    private readonly TestLayerStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task ALayerWithEveryKindOfEntryKeepsItsBytes()
    {
        var tree = _store.AddLayer("every-kind");
        tree.Directory("etc", "750").File("etc/config", "key=value\n", "640").Owner("etc/config", 1000, 1001).Mode("etc/config", "640")
            .File("bin/tool", "#!/bin/sh\necho tool\n", "755").Mode("bin/tool", "4755")
            .File("data/" + new string('n', 120) + "/long-name-file", "a name longer than 100 bytes\n")
            .File("data/utf8-é-ü.txt", "non-ASCII name\n")
            .File("data/xattr.txt", "with xattrs\n").Xattr("data/xattr.txt", "user.comment", "hello").Xattr("data/xattr.txt", "user.binary", [0, 1, 2, 255])
            .File("links/first", "linked twice\n").HardLink("links/first", "links/second")
            .Symlink("links/to-config", "../etc/config")
            .Fifo("run/fifo").CharacterDevice("dev/tty0", 4, 0).BlockDevice("dev/sda", 8, 0)
            .OverlayWhiteout("removed").File("gone/.wh.old", "")
            .Directory("opaque").Xattr("opaque", "trusted.overlay.opaque", "y").File("opaque/new", "fresh\n")
            .File("big.bin", Pattern(3 * 1024 * 1024 + 17))
            .File("empty", "");
        tree.SetAllTimes(Seconds);

        var tar = await _store.ExportAsync("every-kind");

        Assert.Equal("sha256:67bf0a2c663152f6e2aad9c0ba7c8c265a9455b280564e9cadd186320a4f2922", "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar)));
    }

    [Fact]
    public async Task ALayerOfManySmallFilesKeepsItsBytes()
    {
        var tree = _store.AddLayer("small-files");
        for (var i = 0; i < 600; i++)
        {
            tree.File($"node_modules/pkg{i % 37}/lib/file{i}.js", Encoding.UTF8.GetString(Pattern(i * 13 % 5000)));
        }

        tree.SetAllTimes(Seconds, 123_456_789);

        var tar = await _store.ExportAsync("small-files");

        Assert.Equal("sha256:840391405a2a041fceffcb1ca286a2e48a0b688c72e26c9bc8d2704265dcdf5f", "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar)));
    }

    // Printable bytes, so names and text files stay valid UTF-8.
    private static byte[] Pattern(int length)
    {
        var bytes = new byte[length];
        for (var i = 0; i < length; i++)
        {
            bytes[i] = (byte)('a' + (i * 7 % 26));
        }

        return bytes;
    }
}
