namespace LayerExport.Core.Tests.Support;

/// <summary>One member as Python's <c>tarfile</c> reports it (directory names without their trailing '/').</summary>
internal sealed record PythonTarMember(
    string Name, char Type, long Size, long Mode, long Uid, long Gid, double Mtime, string LinkName,
    long DevMajor, long DevMinor, string Uname, string Gname, IReadOnlyDictionary<string, byte[]> Pax)
{
    /// <summary>The name as it is in the archive: directories end in '/'.</summary>
    public string ArchiveName => Type == '5' ? Name + "/" : Name;
}
