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
            members.Add(new DotNetTarMember(
                entry.Name, (char)entry.EntryType, entry.Length, entry.LinkName, entry.ModificationTime.ToUnixTimeSeconds(),
                entry.Format, new Dictionary<string, string>(records, StringComparer.Ordinal)));
        }

        return members;
    }
}
