using System.Formats.Tar;

namespace LayerExport.Core.Tests.Support;

/// <summary>One member as <see cref="TarReader"/> reports it.</summary>
internal sealed record DotNetTarMember(
    string Name, char Type, long Length, string LinkName, long ModificationTime, TarEntryFormat Format,
    IReadOnlyDictionary<string, string> PaxRecords);
