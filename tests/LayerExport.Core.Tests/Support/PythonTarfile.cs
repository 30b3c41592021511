using System.Text;
using System.Text.Json;

namespace LayerExport.Core.Tests.Support;

/// <summary>Reads an archive with Python's <c>tarfile</c> module, an independent tar reader.</summary>
internal static class PythonTarfile
{
    // Names and values go out as hex of their raw bytes, so nothing is lost to an encoding on the way.
    private const string Script = """
        import json, sys, tarfile

        def raw(text):
            return text.encode("utf-8", "surrogateescape").hex()

        members = []
        with tarfile.open(sys.argv[1], mode="r:", encoding="utf-8", errors="surrogateescape") as archive:
            for m in archive:
                members.append({
                    "name": raw(m.name), "type": m.type.decode("ascii"), "size": m.size, "mode": m.mode,
                    "uid": m.uid, "gid": m.gid, "mtime": m.mtime, "linkname": raw(m.linkname),
                    "devmajor": m.devmajor, "devminor": m.devminor, "uname": m.uname, "gname": m.gname,
                    "pax": {key: raw(value) for key, value in m.pax_headers.items()},
                })
        json.dump(members, sys.stdout)
        """;

    private static readonly JsonSerializerOptions Options = new() { PropertyNameCaseInsensitive = true };

    /// <summary>Every member of the archive, in archive order.</summary>
    public static async Task<IReadOnlyList<PythonTarMember>> ListAsync(string archivePath)
    {
        var result = await ExternalTool.RunCheckedAsync("python3", "-c", Script, archivePath);
        var members = JsonSerializer.Deserialize<List<RawMember>>(result.Stdout, Options)
            ?? throw new InvalidOperationException("python3 printed no member list");
        return [.. members.Select(m => m.ToMember())];
    }

    private sealed record RawMember(
        string Name, string Type, long Size, long Mode, long Uid, long Gid, double Mtime, string LinkName,
        long DevMajor, long DevMinor, string Uname, string Gname, Dictionary<string, string> Pax)
    {
        public PythonTarMember ToMember() => new(
            Text(Name), Type[0], Size, Mode, Uid, Gid, Mtime, Text(LinkName), DevMajor, DevMinor, Uname, Gname,
            Pax.ToDictionary(p => p.Key, p => Convert.FromHexString(p.Value), StringComparer.Ordinal));

        private static string Text(string hex) => Encoding.UTF8.GetString(Convert.FromHexString(hex));
    }
}
