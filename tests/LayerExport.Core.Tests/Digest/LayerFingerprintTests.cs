using LayerExport.Core.Digest;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Digest;

/// <summary>
/// A cached digest is served again whenever the fingerprint is unchanged, so each header field and each part of the
/// on-disk identity must change it: a field left out would let a changed layer be announced with a stale digest.
/// </summary>
public sealed class LayerFingerprintTests
{
    private static readonly TarEntryHeader Header = new()
    {
        Name = "etc/passwd"u8.ToArray(),
        Type = TarEntryType.RegularFile,
        Mode = 0x1a4,
        Uid = 10,
        Gid = 20,
        Size = 30,
        ModificationTime = 1_700_000_000,
        DeviceMajor = 0,
        DeviceMinor = 0,
        LinkName = [],
        Xattrs = [new Xattr("user.a"u8.ToArray(), "1"u8.ToArray())],
    };

    private const string PlainFingerprint = "5f8f8cf03ef44a37cba1bd7ff320c6b430e8992bf66e98add15b3ef1940453b8";

    private static readonly EntryIdentity Identity = new(Device: 1, Inode: 2, LinkCount: 3, ChangeTimeNanoseconds: 4, ModificationTimeNanoseconds: 5);

    public static TheoryData<string> Changes =>
    [
        "name", "link name", "type", "mode", "uid", "gid", "size", "mtime", "device major", "device minor",
        "xattr name", "xattr value", "xattr added", "identity device", "identity inode", "identity link count",
        "identity ctime", "identity mtime", "no identity", "mtime nanoseconds", "atime", "ctime", "pax record",
    ];

    [Theory]
    [MemberData(nameof(Changes))]
    public void EachFieldChangesTheFingerprint(string change)
    {
        var (header, identity) = change switch
        {
            "name" => (Header with { Name = "etc/group"u8.ToArray() }, Identity),
            "link name" => (Header with { LinkName = "x"u8.ToArray() }, Identity),
            "type" => (Header with { Type = TarEntryType.HardLink }, Identity),
            "mode" => (Header with { Mode = 0x1ed }, Identity),
            "uid" => (Header with { Uid = 11 }, Identity),
            "gid" => (Header with { Gid = 21 }, Identity),
            "size" => (Header with { Size = 31 }, Identity),
            "mtime" => (Header with { ModificationTime = 1_700_000_001 }, Identity),
            "device major" => (Header with { DeviceMajor = 1 }, Identity),
            "device minor" => (Header with { DeviceMinor = 1 }, Identity),
            "xattr name" => (Header with { Xattrs = [new Xattr("user.b"u8.ToArray(), "1"u8.ToArray())] }, Identity),
            "xattr value" => (Header with { Xattrs = [new Xattr("user.a"u8.ToArray(), "2"u8.ToArray())] }, Identity),
            "xattr added" => (Header with { Xattrs = [.. Header.Xattrs, new Xattr("user.b"u8.ToArray(), [])] }, Identity),
            "identity device" => (Header, Identity with { Device = 9 }),
            "identity inode" => (Header, Identity with { Inode = 9 }),
            "identity link count" => (Header, Identity with { LinkCount = 9 }),
            "identity ctime" => (Header, Identity with { ChangeTimeNanoseconds = 9 }),
            "identity mtime" => (Header, Identity with { ModificationTimeNanoseconds = 9 }),
            "mtime nanoseconds" => (Header with { ModificationTimeNanoseconds = 1 }, Identity),
            "atime" => (Header with { AccessTime = new PaxTime(0, 0) }, Identity),
            "ctime" => (Header with { ChangeTime = new PaxTime(0, 0) }, Identity),
            "pax record" => (Header with { PaxRecords = [new PaxRecord("a"u8.ToArray(), [])] }, Identity),
            _ => (Header, (EntryIdentity?)null),
        };

        Assert.NotEqual(Fingerprint((Header, Identity)), Fingerprint((header, identity)));
        Assert.Equal(Fingerprint((Header, Identity)), Fingerprint((Header with { }, Identity with { })));
    }

    [Fact]
    public void AnEntryWithoutPaxFieldsKeepsTheFingerprintItAlwaysHad()
    {
        // Cache entries on disk are keyed by it: only entries with sub-second, access or change times or further records may add to it.
        Assert.Equal(PlainFingerprint, Fingerprint((Header, Identity)));
    }

    [Theory]
    [InlineData("atime seconds")]
    [InlineData("atime nanoseconds")]
    [InlineData("ctime seconds")]
    [InlineData("ctime nanoseconds")]
    [InlineData("pax record key")]
    [InlineData("pax record value")]
    [InlineData("pax record bytes moved")]
    public void EachPaxFieldChangesTheFingerprintOfAnEntryThatHasThem(string change)
    {
        var first = Header with { AccessTime = new PaxTime(1, 1), ChangeTime = new PaxTime(1, 1), PaxRecords = [new PaxRecord("a"u8.ToArray(), "v"u8.ToArray())] };
        var second = change switch
        {
            "atime seconds" => first with { AccessTime = new PaxTime(2, 1) },
            "atime nanoseconds" => first with { AccessTime = new PaxTime(1, 2) },
            "ctime seconds" => first with { ChangeTime = new PaxTime(2, 1) },
            "ctime nanoseconds" => first with { ChangeTime = new PaxTime(1, 2) },
            "pax record key" => first with { PaxRecords = [new PaxRecord("b"u8.ToArray(), "v"u8.ToArray())] },
            "pax record value" => first with { PaxRecords = [new PaxRecord("a"u8.ToArray(), "w"u8.ToArray())] },
            _ => first with { PaxRecords = [new PaxRecord("av"u8.ToArray(), [])] },
        };

        Assert.NotEqual(Fingerprint((first, Identity)), Fingerprint((second, Identity)));
    }

    [Fact]
    public void BytesMovedBetweenNamesAreAnotherFingerprint()
    {
        // Without a length before each name, "ab" + "" and "a" + "b" would hash alike.
        var first = Header with { Name = "ab"u8.ToArray(), LinkName = [] };
        var second = Header with { Name = "a"u8.ToArray(), LinkName = "b"u8.ToArray() };

        Assert.NotEqual(Fingerprint((first, Identity)), Fingerprint((second, Identity)));
    }

    [Fact]
    public void TheOrderOfEntriesCounts()
    {
        var other = Header with { Name = "etc/group"u8.ToArray() };

        Assert.NotEqual(Fingerprint((Header, Identity), (other, Identity)), Fingerprint((other, Identity), (Header, Identity)));
    }

    [Fact]
    public void TheNewestChangeIsTheLatestCtimeOfAnyEntryWhereverItComes()
    {
        using var fingerprint = new LayerFingerprint();
        Assert.Equal(long.MinValue, fingerprint.NewestChangeNanoseconds);

        // An old file after a fresh one must not hide it: one entry changed a moment ago makes the whole state young.
        foreach (var ctime in new long[] { 5_000, 9_000, 7_000 })
        {
            using var entry = new LayerEntry(Header) { Identity = Identity with { ChangeTimeNanoseconds = ctime } };
            fingerprint.Append(entry);
        }

        using (var withoutIdentity = new LayerEntry(Header))
        {
            fingerprint.Append(withoutIdentity);
        }

        Assert.Equal(9_000, fingerprint.NewestChangeNanoseconds);
    }

    private static string Fingerprint(params (TarEntryHeader Header, EntryIdentity? Identity)[] entries)
    {
        using var fingerprint = new LayerFingerprint();
        foreach (var (header, identity) in entries)
        {
            using var entry = new LayerEntry(header) { Identity = identity };
            fingerprint.Append(entry);
        }

        return fingerprint.Current;
    }
}
