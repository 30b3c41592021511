using System.Text;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Tar;

/// <summary>The archives both writers produce, by name; each is one tar (or, for a huge entry, one header).</summary>
public static class GoldenCases
{
    private const long Mtime = 1_700_000_000;
    private const long EightGiB = 8L << 30;

    private static readonly Dictionary<string, IReadOnlyList<GoldenEntry>> Cases = Build();

    /// <summary>Names of the cases Go writes, for theories.</summary>
    public static TheoryData<string> Names => [.. Cases.Keys];

    /// <summary>Headers Go's writer refuses; our encoder must refuse them too.</summary>
    public static TheoryData<string> RejectedNames => [.. Rejected().Keys];

    /// <summary>The entries of a case.</summary>
    public static IReadOnlyList<GoldenEntry> Get(string name) => Cases[name];

    /// <summary>The header of a rejected case.</summary>
    public static TarEntryHeader GetRejected(string name) => Rejected()[name];

    private static Dictionary<string, IReadOnlyList<GoldenEntry>> Build() => new()
    {
        ["regular file with data"] = [E(Reg("etc/hostname"), "layer-export\n"u8.ToArray())],
        ["empty regular file"] = [E(Reg("etc/empty"))],
        ["file of exactly one block"] = [E(Reg("blob"), Bytes(512, 0x5a))],
        ["directory with trailing slash"] = [E(Node("usr/local/bin/", TarEntryType.Directory, 0x1ed))],
        ["symlink"] = [E(Node("usr/bin/vi", TarEntryType.SymbolicLink, 0x1ff) with { LinkName = B("../../bin/busybox") })],
        ["hard link"] = [E(Node("bin/sh", TarEntryType.HardLink, 0x1ed) with { LinkName = B("bin/busybox") })],
        ["char device 1,3"] = [E(Node("dev/null", TarEntryType.CharacterDevice, 0x1b6) with { DeviceMajor = 1, DeviceMinor = 3 })],
        ["block device 8,0"] = [E(Node("dev/sda", TarEntryType.BlockDevice, 0x1b0) with { Gid = 6, DeviceMajor = 8, DeviceMinor = 0 })],
        ["device numbers at the ustar limit"] =
            [E(Node("dev/big", TarEntryType.CharacterDevice, 0x180) with { DeviceMajor = 2097151, DeviceMinor = 2097151 })],
        ["fifo"] = [E(Node("run/initctl", TarEntryType.Fifo, 0x180))],
        ["whiteout a/.wh.b"] = [Whiteout("a/.wh.b")],
        ["opaque marker a/.wh..wh..opq"] = [Whiteout("a/.wh..wh..opq")],
        ["whiteout with a long unsplittable name"] = [Whiteout("a/.wh." + new string('w', 120))],
        ["name of exactly 100 bytes"] = [E(Reg(Path(100)), "x"u8.ToArray())],
        ["name of 101 bytes, split into prefix and name"] = [E(Reg(Path(101)))],
        ["name of 256 bytes, split at both field limits"] = [E(Reg(new string('p', 155) + "/" + new string('n', 100)))],
        ["directory name of 126 bytes, split"] =
            [E(Node("opt/" + new string('d', 60) + "/" + new string('e', 60) + "/", TarEntryType.Directory, 0x1ed))],
        ["long name with a component over 100 bytes"] = [E(Reg("dir/" + new string('f', 120)), "y"u8.ToArray())],
        ["long name over 256 bytes, short components"] = [E(Reg(string.Concat(Enumerable.Repeat("abcdefghi/", 30)) + "file"))],
        ["long name cut at a slash in the name field"] = [E(Reg(new string('a', 99) + "/" + new string('b', 101)))],
        ["long name whose prefix would exceed 155 bytes"] = [E(Reg(new string('q', 156) + "/short"))],
        ["directory name of 156 bytes, split before its trailing slash"] =
            [E(Node(new string('a', 60) + "/" + new string('b', 94) + "/", TarEntryType.Directory, 0x1ed))],
        ["directory name over 100 bytes"] = [E(Node("var/" + new string('d', 120) + "/", TarEntryType.Directory, 0x1ed))],
        ["directory of 100 bytes with xattrs: PAX name cut at its slash"] =
            [E(Node(new string('d', 99) + "/", TarEntryType.Directory, 0x1ed) with { Xattrs = [X("user.a", "1")] })],
        ["non-ASCII UTF-8 name"] = [E(Reg("usr/share/doc/café/naïve-日本語.txt"), "utf8"u8.ToArray())],
        ["non-UTF-8 name bytes"] = [E(Reg([.. B("data/latin1-"), 0xe9, (byte)'t', 0xe9, 0xff, 0xfe, .. B(".txt")]))],
        ["non-ASCII name over 100 bytes"] = [E(Reg("ünïcödé/" + string.Concat(Enumerable.Repeat("ß", 60))))],
        ["symlink target over 100 bytes"] = [E(Node("lib/link", TarEntryType.SymbolicLink, 0x1ff) with { LinkName = B(Path(180)) })],
        ["symlink target of exactly 100 bytes"] = [E(Node("lib/link", TarEntryType.SymbolicLink, 0x1ff) with { LinkName = B(Path(100)) })],
        ["non-UTF-8 symlink target"] =
            [E(Node("lib/odd", TarEntryType.SymbolicLink, 0x1ff) with { LinkName = [(byte)'t', 0x80, 0xc3, (byte)'x'] })],
        ["hard link to a name over 100 bytes"] = [E(Node("bin/ln", TarEntryType.HardLink, 0x1ed) with { LinkName = B(Path(140)) })],
        ["uid and gid at the ustar limit 2097151"] = [E(Reg("owned") with { Uid = 2097151, Gid = 2097151 })],
        ["uid and gid over 2097151"] = [E(Reg("owned") with { Uid = 2097152, Gid = 4_294_967_294 })],
        ["size 8 GiB - 1, header only"] = [HeaderOnly(Reg("huge") with { Size = EightGiB - 1 })],
        ["size 8 GiB, header only"] = [HeaderOnly(Reg("huge") with { Size = EightGiB })],
        ["size 1 TiB with a long name, header only"] = [HeaderOnly(Reg("big/" + new string('h', 110)) with { Size = 1L << 40 })],
        ["negative mtime"] = [E(Reg("old") with { ModificationTime = -1 })],
        ["mtime 8^11 - 1"] = [E(Reg("late") with { ModificationTime = EightGiB - 1 })],
        ["mtime 8^11"] = [E(Reg("later") with { ModificationTime = EightGiB })],
        ["mtime zero"] = [E(Reg("epoch") with { ModificationTime = 0 })],
        ["mtime of Go's zero time, 0001-01-01"] = [E(Reg("year-one") with { ModificationTime = -62_135_596_800 })],
        ["mtime one second after Go's zero time"] = [E(Reg("year-one-and-a-second") with { ModificationTime = -62_135_596_799 })],
        ["xattrs in key order"] = [E(Reg("bin/ping") with { Xattrs = UnsortedXattrs() }, "ping"u8.ToArray())],
        ["xattr with an empty value"] = [E(Reg("f") with { Xattrs = [X("user.empty", "")] })],
        ["xattr with a non-UTF-8 name and value"] =
            [E(Reg("f") with { Xattrs = [new Xattr([.. B("user."), 0xe9, 0xff], [0xff, 0x00, 0x80])] })],
        ["xattr with an empty name"] = [E(Reg("f") with { Xattrs = [X("", "v")] })],
        ["xattr on a directory"] = [E(Node("etc/", TarEntryType.Directory, 0x1ed) with { Xattrs = [X("user.comment", "config")] })],
        ["xattrs with a non-ASCII splittable long name"] =
            [E(Reg("splittable/" + new string('s', 50) + "/" + new string('t', 60) + "/ünï") with { Xattrs = [X("user.a", "1")] }, "z"u8.ToArray())],
        ["non-ASCII splittable long name"] = [E(Reg("splittable/" + new string('s', 50) + "/" + new string('t', 60) + "/ünï"), "z"u8.ToArray())],
        ["xattrs with an ASCII splittable long name"] = [E(Reg(Path(150)) with { Xattrs = [X("user.a", "1")] })],
        ["PAX record length crossing 99 to 101"] = [E(Reg("f") with { Xattrs = [X("user.x", new string('v', 76))] })],
        ["PAX record length crossing 999 to 1001"] = [E(Reg("f") with { Xattrs = [X("user.x", new string('v', 975))] })],
        ["PAX data of exactly 1 MiB"] = [E(Reg("f") with { Xattrs = [X("user.big", new string('v', 1_048_545))] })],
        ["every PAX key at once, header only"] = [HeaderOnly(Reg("é/" + new string('k', 120)) with
        {
            Uid = 3_000_000, Gid = 4_000_000, Size = 9L << 30, ModificationTime = -86400, Xattrs = [X("user.k", "v")],
        })],
        ["symlink with path, linkpath and xattrs"] = [E(Node("l/" + new string('l', 110), TarEntryType.SymbolicLink, 0x1ff) with
        {
            LinkName = B("t/" + new string('t', 110)), Xattrs = [X("user.l", "v")],
        })],
        ["setuid file"] = [E(Reg("usr/bin/passwd") with { Mode = 0x9ed })],
        ["setgid directory"] = [E(Node("srv/shared/", TarEntryType.Directory, 0x5fd))],
        ["sticky directory"] = [E(Node("tmp/", TarEntryType.Directory, 0x3ff))],
        ["all mode bits"] = [E(Reg("all") with { Mode = 0xfff })],
        ["whole archive of several entries"] = WholeArchive(),
    };

    private static Dictionary<string, TarEntryHeader> Rejected() => new()
    {
        ["device major over 2097151"] = Node("dev/x", TarEntryType.CharacterDevice, 0x180) with { DeviceMajor = 2097152 },
        ["device minor over 2097151"] = Node("dev/x", TarEntryType.BlockDevice, 0x180) with { DeviceMinor = 2097152 },
        ["negative mode"] = Reg("f") with { Mode = -1 },
        ["xattr name with '='"] = Reg("f") with { Xattrs = [X("user.a=b", "v")] },
        ["xattr name with NUL"] = Reg("f") with { Xattrs = [new Xattr([.. B("user.a"), 0, (byte)'b'], B("v"))] },
        ["xattr name starting with '='"] = Reg("f") with { Xattrs = [X("=b", "v")] },
        ["xattr name starting with NUL"] = Reg("f") with { Xattrs = [new Xattr([0, (byte)'b'], B("v"))] },
        ["name with NUL"] = Reg([(byte)'a', 0, (byte)'b']),
        ["link name with NUL"] = Node("l", TarEntryType.SymbolicLink, 0x1ff) with { LinkName = [(byte)'a', 0, (byte)'b'] },
        ["PAX data of 1 MiB + 1"] = Reg("f") with { Xattrs = [X("user.big", new string('v', 1_048_546))] },
    };

    private static List<GoldenEntry> WholeArchive() =>
    [
        E(Node("etc/", TarEntryType.Directory, 0x1ed)),
        Whiteout("etc/.wh..wh..opq"),
        Whiteout("etc/.wh.motd"),
        E(Reg("etc/os-release") with { ModificationTime = 1_600_000_000 }, Bytes(1000, (byte)'o')),
        E(Reg("etc/shadow") with { Mode = 0x1a0, Gid = 42 }, "root:*:19000::::::\n"u8.ToArray()),
        E(Node("etc/localtime", TarEntryType.SymbolicLink, 0x1ff) with { LinkName = B("/usr/share/zoneinfo/UTC") }),
        E(Node("etc/hard", TarEntryType.HardLink, 0x1a4) with { LinkName = B("etc/os-release") }),
        E(Reg("etc/" + new string('L', 130)) with { Xattrs = UnsortedXattrs() }, Bytes(513, (byte)'l')),
        E(Node("dev/", TarEntryType.Directory, 0x1ed)),
        E(Node("dev/null", TarEntryType.CharacterDevice, 0x1b6) with { DeviceMajor = 1, DeviceMinor = 3 }),
        E(Node("dev/fifo", TarEntryType.Fifo, 0x1a4)),
        E(Reg("zero")),
    ];

    // Keys that only sort when the encoder sorts them; values with bytes >= 0x80, NUL, '=' and newline.
    private static List<Xattr> UnsortedXattrs() =>
    [
        X("user.b", "second"),
        new Xattr(B("security.capability"), [0x01, 0x00, 0x00, 0x02, 0x00, 0x20, 0x00, 0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0x80]),
        X("user.a", "k=v\nnext"),
    ];

    private static TarEntryHeader Reg(string name) => Reg(B(name));

    private static TarEntryHeader Reg(byte[] name) =>
        new() { Name = name, Type = TarEntryType.RegularFile, Mode = 0x1a4, Uid = 1000, Gid = 1000, ModificationTime = Mtime };

    private static TarEntryHeader Node(string name, TarEntryType type, long mode) =>
        new() { Name = B(name), Type = type, Mode = mode, ModificationTime = Mtime };

    private static GoldenEntry E(TarEntryHeader header) => new(header);

    private static GoldenEntry E(TarEntryHeader header, byte[] data) => new(header with { Size = data.Length }) { Data = data };

    // What the reader emits for a whiteout; Go gets hcsshim's bare header.
    private static GoldenEntry Whiteout(string name) =>
        new(new TarEntryHeader { Name = B(name), Type = TarEntryType.RegularFile }) { Whiteout = true };

    private static GoldenEntry HeaderOnly(TarEntryHeader header) => new(header) { HeaderOnly = true };

    private static Xattr X(string name, string value) => new(B(name), B(value));

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);

    private static byte[] Bytes(int length, byte value) => Enumerable.Repeat(value, length).ToArray();

    // An ASCII path of exactly `length` bytes made of 9-byte components.
    private static string Path(int length)
    {
        var builder = new StringBuilder();
        while (builder.Length < length)
        {
            builder.Append(builder.Length % 10 == 9 ? '/' : (char)('a' + (builder.Length / 10 % 26)));
        }

        var path = builder.ToString();
        return path.EndsWith('/') ? path[..^1] + "z" : path;
    }
}
