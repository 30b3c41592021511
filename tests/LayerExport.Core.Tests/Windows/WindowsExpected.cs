using System.Text;
using LayerExport.Core.Tar;
using LayerExport.Core.Tests.Tar;

namespace LayerExport.Core.Tests.Windows;

/// <summary>Expected entries for the Go reference: what hcsshim would write for each entry of a test layer.</summary>
internal static class WindowsExpected
{
    public const long DirectoryBits = 0x4000, RegularBits = 0x8000, SymlinkBits = 0xA000;

    /// <summary>Basic information of an encoded entry: creation and change time are the write time (see docs/layouts/windows.md).</summary>
    public static WindowsEntrySpec Info(uint attributes, long writeTicks, long accessTicks) => new()
    {
        Attributes = attributes,
        LastWriteTime = writeTicks,
        LastAccessTime = accessTicks,
        CreationTime = writeTicks,
        ChangeTime = writeTicks,
    };

    /// <summary>Basic information of a plain entry: all four times are the write time.</summary>
    public static WindowsEntrySpec PlainInfo(uint attributes, long writeTicks) => Info(attributes, writeTicks, writeTicks);

    public static GoldenEntry Entry(string name, WindowsEntrySpec info, byte[]? data = null, string linkName = "") =>
        new(new TarEntryHeader { Name = B(name), Type = TarEntryType.RegularFile, Size = data?.Length ?? 0, LinkName = B(linkName) })
        {
            Data = data ?? [],
            Windows = info,
        };

    public static GoldenEntry AlternateStream(string name, long mode, WindowsEntrySpec fileInfo, byte[] data) =>
        new(new TarEntryHeader { Name = B(name), Type = TarEntryType.RegularFile, Mode = mode, Size = data.Length })
        {
            Data = data,
            Windows = fileInfo with { Kind = "ads" },
        };

    public static GoldenEntry HardLink(string name, string target, WindowsEntrySpec info) =>
        new(new TarEntryHeader { Name = B(name), Type = TarEntryType.HardLink, LinkName = B(target) }) { Windows = info with { Kind = "link" } };

    public static GoldenEntry Whiteout(string name) =>
        new(new TarEntryHeader { Name = B(name), Type = TarEntryType.RegularFile }) { Whiteout = true };

    public static EaSpec Ea(string name, byte[] value) => new(B(name), value);

    public static byte[] B(string text) => Encoding.UTF8.GetBytes(text);
}
