namespace LayerExport.Core.Tests.Support;

/// <summary>
/// Describes a tree on disk or a tar, one line per entry, with Python working on raw bytes: names that are not
/// UTF-8 come through exactly, which .NET's string paths cannot promise.
/// </summary>
/// <remarks>
/// A line is tab-separated: the name in hex, the name as Python's bytes repr (tabs and newlines escaped), then
/// <c>key=value</c> fields. Both listings print names the same way, so their lines can be compared and diffed.
/// </remarks>
internal static class RawListing
{
    // Pre-order, each directory's names in byte order, as the export walks. Hard links name the first path met.
    private const string TreeScript = """
        import hashlib, os, stat, sys

        root = os.fsencode(sys.argv[1])
        kinds = {stat.S_IFREG: "f", stat.S_IFDIR: "d", stat.S_IFLNK: "l", stat.S_IFCHR: "c",
                 stat.S_IFBLK: "b", stat.S_IFIFO: "p", stat.S_IFSOCK: "s"}
        first_names = {}

        def walk(relative):
            for name in sorted(os.listdir(os.path.join(root, relative) if relative else root)):
                path = relative + b"/" + name if relative else name
                full = os.path.join(root, path)
                st = os.lstat(full)
                fields = [path.hex(), repr(path), "type=" + kinds[stat.S_IFMT(st.st_mode)],
                          "mode=%o" % stat.S_IMODE(st.st_mode), "owner=%d:%d" % (st.st_uid, st.st_gid),
                          "mtime_ns=%d" % st.st_mtime_ns]
                if stat.S_ISREG(st.st_mode):
                    with open(full, "rb") as f:
                        fields += ["size=%d" % st.st_size, "sha256=" + hashlib.sha256(f.read()).hexdigest()]
                    if st.st_nlink > 1:
                        fields.append("links-with=" + repr(first_names.setdefault((st.st_dev, st.st_ino), path)))
                elif stat.S_ISLNK(st.st_mode):
                    fields.append("target=" + repr(os.readlink(full)))
                elif stat.S_ISCHR(st.st_mode) or stat.S_ISBLK(st.st_mode):
                    fields.append("rdev=%d:%d" % (os.major(st.st_rdev), os.minor(st.st_rdev)))
                for x in sorted(os.listxattr(full, follow_symlinks=False)):
                    fields.append("xattr:%s=%s" % (x, os.getxattr(full, x, follow_symlinks=False).hex()))
                print("\t".join(fields))
                if stat.S_ISDIR(st.st_mode):
                    walk(path)

        walk(b"")
        """;

    // Every member in archive order, prefixed with the offset of its first header block and a tab.
    private const string ArchiveScript = """
        import hashlib, sys, tarfile

        def raw(text):
            return text.encode("utf-8", "surrogateescape")

        with tarfile.open(sys.argv[1], mode="r:", encoding="utf-8", errors="surrogateescape") as archive:
            for m in archive:
                name = raw(m.name) + (b"/" if m.isdir() else b"")
                content = archive.extractfile(m).read() if m.isreg() else b""
                fields = [name.hex(), repr(name), "type=" + m.type.decode("ascii"), "mode=%o" % m.mode,
                          "owner=%d:%d" % (m.uid, m.gid), "names=%s:%s" % (m.uname, m.gname), "size=%d" % m.size,
                          "mtime=%r" % m.mtime, "link=" + repr(raw(m.linkname)), "dev=%d:%d" % (m.devmajor, m.devminor),
                          "sha256=" + hashlib.sha256(content).hexdigest()]
                fields += ["pax:%r=%s" % (key, raw(value).hex()) for key, value in m.pax_headers.items()]
                print("%d\t%s" % (m.offset, "\t".join(fields)))
        """;

    /// <summary>Every entry below <paramref name="root"/> (not the root itself), in the export's walk order.</summary>
    public static async Task<IReadOnlyList<string>> TreeAsync(string root) =>
        (await ExternalTool.RunCheckedAsync("python3", "-c", TreeScript, root)).StdoutLines;

    /// <summary>Every member of the tar, in archive order, each with the offset its header starts at.</summary>
    public static async Task<IReadOnlyList<(long Offset, string Line)>> ArchiveAsync(string archivePath)
    {
        var lines = (await ExternalTool.RunCheckedAsync("python3", "-c", ArchiveScript, archivePath)).StdoutLines;
        return [.. lines.Select(static line => line.Split('\t', 2)).Select(static parts => (long.Parse(parts[0], System.Globalization.CultureInfo.InvariantCulture), parts[1]))];
    }

    /// <summary>The name's raw bytes (the first field, in hex).</summary>
    public static string HexName(string line) => line[..line.IndexOf('\t', StringComparison.Ordinal)];

    /// <summary>The name as Python's bytes repr (the second field).</summary>
    public static string ShownName(string line) => line.Split('\t')[1];

    /// <summary>The <c>key=value</c> fields after the name.</summary>
    public static IReadOnlyDictionary<string, string> Fields(string line) =>
        line.Split('\t').Skip(2).Select(static field => field.Split('=', 2)).ToDictionary(static kv => kv[0], static kv => kv[1], StringComparer.Ordinal);
}
