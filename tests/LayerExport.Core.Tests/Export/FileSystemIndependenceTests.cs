using System.Globalization;
using System.Security.Cryptography;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>
/// The same layer tree on tmpfs, ext4, xfs and btrfs exports to the same bytes: how a file system orders
/// directory entries and xattrs, or numbers its inodes, must not reach the archive.
/// </summary>
/// <remarks>
/// The trees are first checked to be the same on disk (as Python reads them), so a difference in the exports is
/// the export's, not a file system's that could not keep something.
/// </remarks>
[Collection(SerialTests.Name)]
public sealed class FileSystemIndependenceTests(FileSystemExports exports) : IClassFixture<FileSystemExports>
{
    private const int ShownProblems = 30;
    private const int ShownDiffLines = 150;

    private static readonly string EmptySha256 = Convert.ToHexStringLower(SHA256.HashData([]));

    private FileSystemExports.BuiltLayer Reference => exports.Layers[0];

    [Fact]
    public void EveryFileSystemIsExercised() =>
        Assert.Equal(ScratchFileSystem.Kinds, exports.Layers.Select(static layer => layer.Kind));

    [Fact]
    public async Task EveryFileSystemKeptTheTreeAsBuilt()
    {
        var problems = new List<string>();
        foreach (var layer in exports.Layers.Skip(1))
        {
            var diff = await exports.DiffAsync(Reference.Kind, Reference.Listing, layer.Kind, layer.Listing);
            if (diff.Length > 0)
            {
                problems.Add($"{layer.Kind} does not hold the tree {Reference.Kind} holds:\n{Shorten(diff)}");
            }
        }

        foreach (var layer in exports.Layers)
        {
            var allocated = Posix.AllocatedBytes(layer.Tree.PathOf("sparse.bin"));
            if (allocated >= FileSystemExports.SparseLength / 2)
            {
                problems.Add($"{layer.Kind}: sparse.bin has no hole ({allocated} of {FileSystemExports.SparseLength} bytes allocated)");
            }
        }

        Assert.True(Reference.Listing.Count > 600, $"the tree has only {Reference.Listing.Count} entries");
        Assert.True(problems.Count == 0, string.Join("\n", problems));
    }

    [Fact]
    public void TheFileSystemsListEntriesAndXattrsInOrdersOfTheirOwn()
    {
        // Were the orders alike, identical exports would prove nothing about the sorts of the walk and of the xattrs.
        AssertOrdersDiffer(
            FileSystemExports.ManyEntries,
            layer => [.. Directory.EnumerateFileSystemEntries(layer.Tree.PathOf(FileSystemExports.ManyEntries)).Select(static path => Path.GetFileName(path))]);
        AssertOrdersDiffer(FileSystemExports.XattrFile, layer => Posix.ListXattrs(layer.Tree.PathOf(FileSystemExports.XattrFile)));
    }

    [Fact]
    public async Task EveryFileSystemExportsTheSameBytes()
    {
        var reference = await File.ReadAllBytesAsync(Reference.ArchivePath);
        var problems = new List<string>();
        foreach (var layer in exports.Layers.Skip(1))
        {
            var archive = await File.ReadAllBytesAsync(layer.ArchivePath);
            if (!archive.AsSpan().SequenceEqual(reference))
            {
                problems.Add(await DescribeDifferenceAsync(Reference, reference, layer, archive));
            }
        }

        Assert.True(problems.Count == 0, string.Join("\n\n", problems));
    }

    [Fact]
    public async Task EverySurveyAnnouncesTheSizeAndEntriesOfTheExport()
    {
        foreach (var layer in exports.Layers)
        {
            var members = await RawListing.ArchiveAsync(layer.ArchivePath);

            Assert.Equal((layer.Kind, new FileInfo(layer.ArchivePath).Length, (long)members.Count), (layer.Kind, layer.Survey.TarSize, layer.Survey.Entries));
        }
    }

    [Fact]
    public async Task PythonReadsTheWholeTreeFromEveryExport()
    {
        var problems = new List<string>();
        foreach (var layer in exports.Layers)
        {
            var expected = ExpectedMembers(layer.Listing);
            var members = await RawListing.ArchiveAsync(layer.ArchivePath);
            var actual = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (_, line) in members)
            {
                if (!actual.TryAdd(RawListing.HexName(line), line))
                {
                    problems.Add($"{layer.Kind}: {RawListing.ShownName(line)} is in the archive twice");
                }
            }

            foreach (var (name, fields) in expected)
            {
                if (!actual.TryGetValue(name, out var line))
                {
                    problems.Add($"{layer.Kind}: missing from the archive: {Shown(name)}");
                    continue;
                }

                var read = Comparable(RawListing.Fields(line));
                foreach (var key in fields.Keys.Union(read.Keys).Order(StringComparer.Ordinal))
                {
                    if (fields.GetValueOrDefault(key) != read.GetValueOrDefault(key))
                    {
                        problems.Add($"{layer.Kind}: {RawListing.ShownName(line)} {key}: expected {fields.GetValueOrDefault(key) ?? "none"}, read {read.GetValueOrDefault(key) ?? "none"}");
                    }
                }
            }

            problems.AddRange(actual.Keys.Except(expected.Keys).Select(name => $"{layer.Kind}: not in the tree: {RawListing.ShownName(actual[name])}"));
            Assert.True(members.Count > 600, $"{layer.Kind}: the archive has only {members.Count} members");
        }

        Assert.True(problems.Count == 0, $"{problems.Count} problems:\n{string.Join("\n", problems.Take(ShownProblems))}");
    }

    [Fact]
    public async Task GnuTarListsEveryExportWithoutAWarning()
    {
        foreach (var layer in exports.Layers)
        {
            // The default quoting escapes newlines in names, so each member is one line (xattrs follow as "  x:" lines).
            var listing = await ExternalTool.RunCheckedAsync(
                "tar", "--numeric-owner", "--full-time", "--xattrs", "--xattrs-include=*", "-tvvf", layer.ArchivePath);
            Assert.True(listing.Stderr.Length == 0, $"{layer.Kind}: {listing.CommandLine} warned:\n{listing.Stderr}");

            var entries = listing.StdoutLines.Where(static line => !line.StartsWith("  x: ", StringComparison.Ordinal)).ToList();
            Assert.Equal(ExpectedMembers(layer.Listing).Count, entries.Count);
            // With --xattrs a '*' after the mode marks an entry that has some.
            ListingAssert.HasLine(entries, "-rwsr-x---  3000000/3000001 ", "", " bin/setuid-big-owner");
            ListingAssert.HasLine(entries, "hrw-r--r--  0/0 ", "", " links/three link to a-three");
            ListingAssert.HasLine(entries, "-rw-r--r--  0/0 ", $" {FileSystemExports.SparseLength} ", " sparse.bin");
            ListingAssert.HasLine(entries, "-rw-r--r--  0/0 ", " 2255-", " times/beyond-octal");
            ListingAssert.HasLine(entries, "-rw-r--r--  0/0 ", " 1938-", " times/before-1970");
        }
    }

    // At least two file systems list the names unsorted, and in at least three different orders.
    private void AssertOrdersDiffer(string what, Func<FileSystemExports.BuiltLayer, IReadOnlyList<string>> list)
    {
        var orders = exports.Layers.ToDictionary(static layer => layer.Kind, list);
        var sorted = orders[Reference.Kind].Order(StringComparer.Ordinal).ToList();
        var shown = string.Join("\n", orders.Select(static o => $"{o.Key}: {string.Join(' ', o.Value.Take(8))} ..."));

        Assert.True(orders.Values.Count(order => !order.SequenceEqual(sorted)) >= 2, $"fewer than two file systems list {what} unsorted:\n{shown}");
        Assert.True(orders.Values.Select(static order => string.Join('/', order)).Distinct().Count() >= 3, $"fewer than three orders of {what}:\n{shown}");
    }

    // What Python should read for each member, by hex name, from the tree on disk: the export's rules made explicit.
    private static Dictionary<string, Dictionary<string, string>> ExpectedMembers(IReadOnlyList<string> listing)
    {
        var expected = new Dictionary<string, Dictionary<string, string>>(StringComparer.Ordinal);
        foreach (var line in listing)
        {
            var name = Convert.FromHexString(RawListing.HexName(line));
            var disk = RawListing.Fields(line);
            switch (disk["type"])
            {
                case "s":
                    // No tar can carry a socket.
                    continue;
                case "c" when disk["rdev"] == "0:0":
                case "f" when disk.ContainsKey("xattr:trusted.overlay.whiteout"):
                    var slash = Array.LastIndexOf(name, (byte)'/') + 1;
                    expected.Add(Convert.ToHexStringLower([.. name[..slash], .. ".wh."u8, .. name[slash..]]), Whiteout());
                    continue;
                case "d" when disk.GetValueOrDefault("xattr:trusted.overlay.opaque") == Convert.ToHexStringLower("y"u8):
                    expected.Add(Convert.ToHexStringLower([.. name, .. "/.wh..wh..opq"u8]), Whiteout());
                    break;
            }

            var isLaterLink = disk.TryGetValue("links-with", out var first) && first != RawListing.ShownName(line);
            var fields = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                ["type"] = isLaterLink ? "1" : TarType(disk["type"]),
                ["mode"] = disk["mode"],
                ["owner"] = disk["owner"],
                ["names"] = ":",
                ["size"] = disk["type"] == "f" && !isLaterLink ? disk["size"] : "0",
                ["mtime"] = Math.DivRem(long.Parse(disk["mtime_ns"], CultureInfo.InvariantCulture), 1_000_000_000L) switch
                {
                    var (q, r) when r < 0 => (q - 1).ToString(CultureInfo.InvariantCulture),
                    var (q, _) => q.ToString(CultureInfo.InvariantCulture),
                },
                ["link"] = isLaterLink ? first! : disk.GetValueOrDefault("target", "b''"),
                ["dev"] = disk.GetValueOrDefault("rdev", "0:0"),
                ["sha256"] = disk["type"] == "f" && !isLaterLink ? disk["sha256"] : EmptySha256,
            };
            if (!isLaterLink && disk["type"] is "f" or "d")
            {
                foreach (var (key, value) in disk.Where(static f => f.Key.StartsWith("xattr:", StringComparison.Ordinal)))
                {
                    var attribute = key["xattr:".Length..];
                    if (attribute == "security.capability" || attribute.StartsWith("user.", StringComparison.Ordinal))
                    {
                        fields[$"pax:'SCHILY.xattr.{attribute}'"] = value;
                    }
                }
            }

            expected.Add(Convert.ToHexStringLower(disk["type"] == "d" ? [.. name, (byte)'/'] : name), fields);
        }

        return expected;
    }

    // OCI whiteouts carry no metadata.
    private static Dictionary<string, string> Whiteout() => new(StringComparer.Ordinal)
    {
        ["type"] = "0", ["mode"] = "0", ["owner"] = "0:0", ["names"] = ":", ["size"] = "0", ["mtime"] = "0",
        ["link"] = "b''", ["dev"] = "0:0", ["sha256"] = EmptySha256,
    };

    private static string TarType(string diskType) => diskType switch
    {
        "f" => "0",
        "l" => "2",
        "c" => "3",
        "b" => "4",
        "d" => "5",
        "p" => "6",
        _ => throw new ArgumentException($"no tar type for '{diskType}'"),
    };

    // The read fields the expectation speaks of: every field but the encoding's own PAX records (path, size, ...),
    // with Python's float PAX mtime as whole seconds.
    private static Dictionary<string, string> Comparable(IReadOnlyDictionary<string, string> read)
    {
        var fields = read
            .Where(static f => !f.Key.StartsWith("pax:", StringComparison.Ordinal) || f.Key.StartsWith("pax:'SCHILY.xattr.", StringComparison.Ordinal))
            .ToDictionary(static f => f.Key, static f => f.Value, StringComparer.Ordinal);
        fields["mtime"] = ((long)double.Parse(fields["mtime"], CultureInfo.InvariantCulture)).ToString(CultureInfo.InvariantCulture);
        return fields;
    }

    private async Task<string> DescribeDifferenceAsync(FileSystemExports.BuiltLayer left, byte[] leftBytes, FileSystemExports.BuiltLayer right, byte[] rightBytes)
    {
        var at = leftBytes.AsSpan().CommonPrefixLength(rightBytes);
        var leftMembers = await RawListing.ArchiveAsync(left.ArchivePath);
        var rightMembers = await RawListing.ArchiveAsync(right.ArchivePath);
        var member = leftMembers.LastOrDefault(m => m.Offset <= at) is { Line: { } line } ? RawListing.ShownName(line) : "(none)";
        var diff = await exports.DiffAsync(
            $"{left.Kind}.tar (Python's tarfile)", leftMembers.Select(static m => Readable(m.Line)),
            $"{right.Kind}.tar (Python's tarfile)", rightMembers.Select(static m => Readable(m.Line)));
        return $"""
            {right.Kind} exports other bytes than {left.Kind}:
              sha256 {Digest(rightBytes)} ({rightBytes.Length} bytes) against {Digest(leftBytes)} ({leftBytes.Length} bytes);
              the first difference is at byte {at}, in the member that starts before it: {member}.
            {(diff.Length > 0 ? Shorten(diff) : "Python reads the same members from both: the difference is in bytes no reader reports (padding, field formatting).")}
            """;
    }

    // A listing line without its hex name, for people.
    private static string Readable(string line) => line[(line.IndexOf('\t', StringComparison.Ordinal) + 1)..];

    private static string Digest(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));

    private static string Shown(string hexName) => System.Text.Encoding.UTF8.GetString(Convert.FromHexString(hexName)).ReplaceLineEndings("\\n");

    private static string Shorten(string diff)
    {
        var lines = diff.Split('\n');
        return lines.Length <= ShownDiffLines ? diff : string.Join('\n', lines.Take(ShownDiffLines)) + $"\n... ({lines.Length - ShownDiffLines} more lines)";
    }
}
