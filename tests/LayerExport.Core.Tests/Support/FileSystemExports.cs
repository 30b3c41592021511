using System.Text;
using LayerExport.Core.Export;
using LayerExport.Core.Store;

namespace LayerExport.Core.Tests.Support;

/// <summary>One layer tree, built the same way on each of <see cref="ScratchFileSystem.Kinds"/> and exported from each.</summary>
/// <remarks>
/// The tree has what the export reads from a file system: every file type, holes, hard links, many entries per
/// directory (whose on-disk order each file system keeps its own way), long and non-UTF-8 names, xattrs set in
/// no particular order, special mode bits, 32-bit owners, and times with nanoseconds before 1970 and after 2038.
/// </remarks>
public sealed class FileSystemExports : IAsyncLifetime, IDisposable
{
    internal const string LayerId = "same-tree";

    /// <summary>The time of every entry but those under <c>times/</c>: after 2038, with nanoseconds.</summary>
    internal const long Seconds = 4_102_444_800 + 12_345_678;

    internal const long Nanoseconds = 987_654_321;

    internal const long SparseLength = (2 * Mebibyte) + 123;

    /// <summary>The directory whose many entries each file system lists in an order of its own.</summary>
    internal const string ManyEntries = "many";

    /// <summary>The file whose xattrs are set in neither name nor hash order.</summary>
    internal const string XattrFile = "xattrs/file";

    private const long Mebibyte = 1024 * 1024;

    private readonly List<ScratchFileSystem> _fileSystems = [];
    private readonly List<BuiltLayer> _layers = [];

    /// <summary>The layer on each file system, in <see cref="ScratchFileSystem.Kinds"/> order (tmpfs first).</summary>
    internal IReadOnlyList<BuiltLayer> Layers => _layers;

    /// <summary>A scratch directory on the host's own file system, for archives and listings.</summary>
    internal TempDirectory Outputs { get; } = new();

    public async Task InitializeAsync()
    {
        try
        {
            foreach (var kind in ScratchFileSystem.Kinds)
            {
                var fileSystem = await ScratchFileSystem.MountAsync(kind);
                _fileSystems.Add(fileSystem);

                // A directory of its own: the root of an ext4 holds lost+found.
                var store = Path.Combine(fileSystem.MountPoint, "store");
                Directory.CreateDirectory(Path.Combine(store, LayerId, "diff"));
                await File.WriteAllTextAsync(Path.Combine(store, LayerId, "layer.json"), "{}");
                var tree = Build(new LayerTree(Path.Combine(store, LayerId, "diff")));

                var archive = Outputs.Combine(kind + ".tar");
                await TarExport.ToFileAsync(store, LayerId, archive, CancellationToken.None);
                _layers.Add(new BuiltLayer(kind, tree, archive, await RawListing.TreeAsync(tree.Root), Survey(store)));
            }
        }
        catch
        {
            await DisposeAsync();
            throw;
        }
    }

    /// <summary>Unmounts every file system, even when one unmount fails.</summary>
    public async Task DisposeAsync()
    {
        var failures = new List<Exception>();
        foreach (var fileSystem in _fileSystems)
        {
            try
            {
                await fileSystem.DisposeAsync();
            }
            catch (Exception e)
            {
                failures.Add(e);
            }
        }

        _fileSystems.Clear();
        if (failures.Count > 0)
        {
            throw new AggregateException("cleaning up the scratch file systems failed", failures);
        }
    }

    public void Dispose() => Outputs.Dispose();

    /// <summary><c>diff -u</c> of two listings, or an empty string when they are the same.</summary>
    internal async Task<string> DiffAsync(string leftLabel, IEnumerable<string> left, string rightLabel, IEnumerable<string> right)
    {
        var leftPath = Outputs.Combine(Guid.NewGuid().ToString("N"));
        var rightPath = Outputs.Combine(Guid.NewGuid().ToString("N"));
        await File.WriteAllLinesAsync(leftPath, left);
        await File.WriteAllLinesAsync(rightPath, right);
        var diff = await ExternalTool.RunAsync("diff", "-u", "--label", leftLabel, "--label", rightLabel, leftPath, rightPath);
        Assert.True(diff.ExitCode is 0 or 1, $"{diff.CommandLine} failed: {diff.Stderr}");
        return diff.StdoutText;
    }

    private static LayerTree Build(LayerTree tree)
    {
        var random = new Random(2038);
        var big = new byte[(300 * 1024) + 17];
        random.NextBytes(big);
        var block = new byte[4096];
        random.NextBytes(block);

        tree.File("empty", [])
            .File("small.txt", "small\n")
            .File("big.bin", big)
            .SparseFile("sparse.bin", SparseLength, (0, block), (Mebibyte, block))

            // Modes: chown clears setuid and setgid, so the owner comes first.
            .File("bin/setuid", "#!/bin/sh\n", "4755")
            .File("bin/setgid", "#!/bin/sh\n", "2755")
            .File("bin/all-bits", "#!/bin/sh\n", "7777")
            .File("bin/no-bits", "", "000")
            .File("bin/setuid-big-owner", "#!/bin/sh\n").Owner("bin/setuid-big-owner", 3_000_000, 3_000_001).Mode("bin/setuid-big-owner", "4750")
            .File("bin/capable", "#!/bin/sh\n", "755").Xattr("bin/capable", "security.capability", SampleLayer.Capability)
            .Directory("tmp", "1777")
            .Directory("shared", "2775")
            .File("owners/big", "big ids\n").Owner("owners/big", 3_000_000, 3_000_001)
            .File("owners/max", "largest ids\n").Owner("owners/max", 4_294_967_294, 4_294_967_294)
            .Directory("owners/private", "700").File("owners/private/inside", "inside\n").Owner("owners/private", 70_000, 70_001)

            // Three names of one file; the first the walk meets ("a-three") carries the data, whichever was made first.
            .File("links/three", "three names\n").Xattr("links/three", "user.linked", "yes")
            .HardLink("links/three", $"{ManyEntries}/three-too")
            .HardLink("links/three", "a-three")
            .File("links/two-a", "two names\n")
            .HardLink("links/two-a", "links/two-b")
            .Symlink("links/relative", "../small.txt")
            .Symlink("links/absolute", "/etc/passwd")
            .Symlink("links/dangling", "nowhere/missing")
            .Symlink("links/long", SampleLayer.LongTarget).Owner("links/long", 1234, 5678)
            .Symlink("links/odd", "a target with spaces/café")

            .Fifo("dev/fifo")
            .CharacterDevice("dev/null", 1, 3)
            .BlockDevice("dev/sda1", 8, 1)

            // The largest minor all four keep: xfs holds 18 bits (mknod fails with EINVAL above), the kernel 20.
            .CharacterDevice("dev/big-minor", 136, 262_143)
            .Socket("dev/socket")

            // The native store's overlay form: a deletion and an opaque directory.
            .OverlayWhiteout("removed")
            .Directory("opaque").Xattr("opaque", "trusted.overlay.opaque", "y").File("opaque/new", "fresh\n")

            // overlayfs's xattr form: in a directory marked "x", a zero-size file marked as a whiteout is a deletion.
            .Directory("xwhiteouts").Xattr("xwhiteouts", "trusted.overlay.opaque", "x")
            .File("xwhiteouts/deleted", "").Xattr("xwhiteouts/deleted", "trusted.overlay.whiteout", "")
            .File("xwhiteouts/kept", "kept\n")

            // Neither name order nor any hash order; xfs moves past its in-inode form, ext4 into its xattr block.
            .File(XattrFile, "attributes\n")
            .Xattr(XattrFile, "user.zeta", "last by name")
            .Xattr(XattrFile, "trusted.hidden", "never exported")
            .Xattr(XattrFile, "user.alpha", "first by name")
            .Xattr(XattrFile, "security.capability", SampleLayer.Capability)
            .Xattr(XattrFile, "user.Mixed.Case", "upper case sorts first")
            .Xattr(XattrFile, "user.empty", [])
            .Xattr(XattrFile, "user.binary", SampleLayer.BinaryXattr)
            .Directory("xattrs/dir").Xattr("xattrs/dir", "user.b", "2").Xattr("xattrs/dir", "user.a", "1");
        for (var i = 5; i >= 0; i--)
        {
            tree.Xattr(XattrFile, $"user.m{i}", new string((char)('a' + i), 60));
        }

        // More than 1 KiB of names: the export's first listxattr buffer is too small for them.
        tree.File("xattrs/long-names", "long xattr names\n");
        for (var i = 7; i >= 0; i--)
        {
            tree.Xattr("xattrs/long-names", $"user.{i}{new string('x', 150)}", $"{i}");
        }

        // 600 names made in a scrambled order (7919 is prime to 600): ext4 lists them in htree hash order, tmpfs in
        // reverse creation order, xfs and btrfs in creation order; every tenth is a directory with a child, and
        // twelve are deletions, which the export lists right after the directory. The names' lengths (up to 233
        // bytes) make the listing longer than the export's 64 KiB getdents buffer.
        for (var i = 0; i < 600; i++)
        {
            var n = i * 7919 % 600;
            var name = $"{ManyEntries}/{n:D3}-{new string((char)('a' + (n % 26)), n * 37 % 230)}";
            if (n % 10 == 0)
            {
                tree.Directory(name).File(name + "/inside", $"{n}\n");
            }
            else if (n % 50 == 7)
            {
                tree.OverlayWhiteout(name);
            }
            else
            {
                tree.File(name, $"{n}\n");
            }
        }

        tree.File("names/" + new string('f', 150), "a name longer than 100 bytes\n")
            .File("names/" + new string('é', 127), "254 bytes of name\n")
            .File("names/" + SampleLayer.LongPath, "a path longer than 255 bytes\n")
            .File("names/café/naïve.txt", "non-ASCII\n")
            .File("names/é-composed", "U+00E9\n")
            .File("names/e\u0301-decomposed", "e and U+0301\n")
            .File("names/日本語.txt", "CJK\n")
            .File("names/emoji-😀", "four UTF-8 bytes\n")
            .File("names/with space", "\n")
            .File("names/tab\there", "\n")
            .File("names/new\nline", "\n")
            .File("names/back\\slash", "\n")
            .File("names/quotes'\"", "\n")
            .File("names/control-\u0001-\u007f", "\n")
            .File("names/-leading-dash", "\n")
            .File("names/.hidden", "\n")
            .File("names/...", "\n")
            .File("names/colon:star*question?", "\n")
            .File("names/latin1-placeholder", "a Latin-1 name\n")
            .File("names/bad-dir-placeholder/inside", "below a name that is not UTF-8\n");

        tree.SetAllTimes(Seconds, Nanoseconds)
            .File("times/epoch", "\n").ModificationTime("times/epoch", 0)
            .File("times/truncated", "\n").ModificationTime("times/truncated", 1_600_000_000, 999_999_999)
            .File("times/before-1970", "\n").ModificationTime("times/before-1970", -1_000_000_000, 250_000_000)
            .File("times/beyond-octal", "\n").ModificationTime("times/beyond-octal", 9_000_000_000, 5)
            .ModificationTime("times", Seconds, Nanoseconds);

        // Last: .NET walks (SetAllTimes too) cannot name what these become.
        return tree.RenameToRawName("names/latin1-placeholder", Latin1("latin1-été"))
            .RenameToRawName("names/bad-dir-placeholder", [.. "bad-"u8, 0xFF, 0xFE, .. "-dir"u8])
            .ModificationTime("names", Seconds, Nanoseconds);
    }

    // The metadata walk that announces the size before any byte is sent: another path through the reader.
    private static LayerSurvey Survey(string store)
    {
        using var layers = new NativeLayerStore(store);
        using var export = new LayerExporter(layers).Prepare(LayerId, []);
        return export.Survey(CancellationToken.None);
    }

    private static byte[] Latin1(string text) => Encoding.Latin1.GetBytes(text);

    /// <summary>One file system's copy of the layer: its tree, its export, how Python sees the tree, what the survey announced.</summary>
    internal sealed record BuiltLayer(string Kind, LayerTree Tree, string ArchivePath, IReadOnlyList<string> Listing, LayerSurvey Survey);
}
