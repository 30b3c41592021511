using LayerExport.Core.Digest;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Windows;

/// <summary>
/// A cached digest is only reused under an unchanged fingerprint, so every header field a Windows entry adds counts:
/// an access time moved by some other reader changes no ctime, yet changes the tar.
/// </summary>
public sealed class WindowsFingerprintTests
{
    private static readonly TarEntryHeader Header = new()
    {
        Name = "Files/a.txt"u8.ToArray(),
        Type = TarEntryType.RegularFile,
        Mode = 0x8000,
        ModificationTime = 1_700_000_000,
        ModificationTimeNanoseconds = 100,
        AccessTime = new PaxTime(1_700_000_001, 200),
        ChangeTime = new PaxTime(1_700_000_000, 100),
        PaxRecords = [new PaxRecord("MSWINDOWS.fileattr"u8.ToArray(), "32"u8.ToArray())],
    };

    public static TheoryData<string> Changes => ["mtime nanoseconds", "atime", "ctime", "record value", "record gone"];

    [Theory]
    [MemberData(nameof(Changes))]
    public void EachWindowsFieldChangesTheFingerprint(string change)
    {
        var changed = change switch
        {
            "mtime nanoseconds" => Header with { ModificationTimeNanoseconds = 200 },
            "atime" => Header with { AccessTime = new PaxTime(1_700_000_002, 200) },
            "ctime" => Header with { ChangeTime = new PaxTime(1_700_000_000, 101) },
            "record value" => Header with { PaxRecords = [new PaxRecord("MSWINDOWS.fileattr"u8.ToArray(), "33"u8.ToArray())] },
            _ => Header with { PaxRecords = [] },
        };

        Assert.NotEqual(Fingerprint(Header), Fingerprint(changed));
        Assert.Equal(Fingerprint(Header), Fingerprint(Header with { }));
    }

    private static string Fingerprint(TarEntryHeader header)
    {
        using var fingerprint = new LayerFingerprint();
        using var entry = new LayerEntry(header) { Identity = new EntryIdentity(1, 2, 1, 3, 4) };
        fingerprint.Append(entry);
        return fingerprint.Current;
    }
}
