using System.Formats.Tar;

namespace LayerExport.Core.Tests.Support;

/// <summary>Reads an archive with .NET's <see cref="TarReader"/>, a tar reader independent of our encoder.</summary>
internal static class DotNetTar
{
    public static IReadOnlyList<DotNetTarMember> List(byte[] archive)
    {
        using var stream = new MemoryStream(archive, writable: false);
        using var reader = new TarReader(stream);
        var members = new List<DotNetTarMember>();
        while (reader.GetNextEntry() is { } entry)
        {
            var records = entry is PaxTarEntry pax ? pax.ExtendedAttributes : new Dictionary<string, string>();
            var posix = entry as PosixTarEntry;
            members.Add(new DotNetTarMember(
                entry.Name, (char)entry.EntryType, entry.Length, entry.LinkName, entry.Uid, entry.Gid,
                posix?.DeviceMajor ?? 0, posix?.DeviceMinor ?? 0, entry.ModificationTime.ToUnixTimeSeconds(), entry.Format,
                new Dictionary<string, string>(records, StringComparer.Ordinal)));
        }

        return members;
    }
}

/// <summary>One member as <see cref="TarReader"/> reports it.</summary>
internal sealed record DotNetTarMember(
    string Name, char Type, long Length, string LinkName, int Uid, int Gid, int DeviceMajor, int DeviceMinor,
    long ModificationTime, TarEntryFormat Format, IReadOnlyDictionary<string, string> PaxRecords);
