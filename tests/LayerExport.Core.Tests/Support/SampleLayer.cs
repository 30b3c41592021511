namespace LayerExport.Core.Tests.Support;

/// <summary>A layer with one of everything a layer can hold, for whole-archive checks.</summary>
internal static class SampleLayer
{
    public const long Mtime = 1_700_000_000;

    public static readonly string LongFileName = new('f', 150);

    public static readonly string LongPath = new string('d', 200) + "/" + new string('n', 100);

    public static readonly string LongTarget = string.Concat(Enumerable.Repeat("target/", 20)) + "end";

    /// <summary>A valid VFS_CAP_REVISION_2 value granting CAP_NET_BIND_SERVICE.</summary>
    public static readonly byte[] Capability = [0x01, 0x00, 0x00, 0x02, 0x00, 0x04, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];

    public static readonly byte[] BinaryXattr = [0x80, 0xFF, 0xC3, 0x28, 0x01, 0x7F, 0xFE];

    public static LayerTree Build(LayerTree tree)
    {
        var random = new Random(42);
        var big = new byte[300 * 1024 + 17];
        random.NextBytes(big);

        tree.Directory("bin")
            .File("bin/tool", "#!/bin/sh\necho tool\n", "4755")
            .File("bin/capable", "#!/bin/sh\n", "755").Xattr("bin/capable", "security.capability", Capability)
            .File("bin/group-tool", "#!/bin/sh\n", "2755")
            .Directory("data")
            .File("data/empty", [])
            .Directory("data/empty-dir", "700")
            .File("data/hello.txt", "hello\n").Owner("data/hello.txt", 1000, 1000).Mode("data/hello.txt", "640")
            .File("data/big.bin", big)
            .File("data/hard-1", "linked\n")
            .HardLink("data/hard-1", "data/hard-2")
            .File("data/attrs.txt", "attributes\n")
            .Xattr("data/attrs.txt", "user.comment", "a comment")
            .Xattr("data/attrs.txt", "user.binary", BinaryXattr)
            .Xattr("data", "user.on-directory", "yes")
            .CharacterDevice("dev/null", 1, 3)
            .BlockDevice("dev/sda1", 8, 1)
            .CharacterDevice("dev/big-minor", 136, 1_048_575)
            .Fifo("dev/fifo")
            .Socket("dev/socket")
            .Symlink("links/relative", "../data/hello.txt")
            .Symlink("links/absolute", "/etc/passwd")
            .Symlink("links/dangling", "nowhere/missing")
            .Symlink("links/long", LongTarget)
            .Owner("links/long", 1234, 5678)
            .File("names/" + LongFileName, "long file name\n")
            .File("names/" + LongPath, "long path\n")
            .File("names/café/naïve.txt", "non-ASCII\n")
            .File("owners/big-ids", "big ids\n").Owner("owners/big-ids", 3_000_000, 3_000_001)
            .Directory("tmp", "1777")
            .Directory("shared", "2775")
            .OverlayWhiteout("data/removed")
            .File(".wh.gone", "")
            .Directory("opaque")
            .File("opaque/.wh..wh..opq", "")
            .File("opaque/kept", "kept\n")
            .SetAllTimes(Mtime, 500_000_000);
        return tree.ModificationTime("data/hello.txt", 1_600_000_000, 999_999_999);
    }

    /// <summary>True for the on-disk deletion markers, which an extractor turns into plain files.</summary>
    public static bool IsWhiteoutOnDisk(string path, FileMetadata status) =>
        Path.GetFileName(path).StartsWith(".wh.", StringComparison.Ordinal)
        || (status.Type == Posix.CharacterDeviceType && status.RdevMajor == 0 && status.RdevMinor == 0);
}
