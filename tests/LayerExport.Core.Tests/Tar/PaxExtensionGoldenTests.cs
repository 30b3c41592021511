using System.Buffers;
using System.Text;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Tar;

/// <summary>The header fields Windows layers need (sub-second times, atime, ctime, further PAX records) come out as Go writes them.</summary>
public sealed class PaxExtensionGoldenTests(GoTarFixture go) : IClassFixture<GoTarFixture>
{
    private const long Mtime = 1_700_000_000;

    private static readonly Dictionary<string, GoldenEntry> Cases = new()
    {
        ["sub-second mtime"] = E(Reg("f") with { ModificationTimeNanoseconds = 123_456_700 }),
        ["sub-second mtime of one nanosecond"] = E(Reg("f") with { ModificationTimeNanoseconds = 1 }),
        ["sub-second mtime before 1970"] = E(Reg("f") with { ModificationTime = -2, ModificationTimeNanoseconds = 750_000_000 }),
        ["sub-second mtime past the octal field"] = E(Reg("f") with { ModificationTime = 8L << 30, ModificationTimeNanoseconds = 5 }),
        ["atime only"] = E(Reg("f") with { AccessTime = new PaxTime(Mtime + 1, 0) }),
        ["ctime before 1970"] = E(Reg("f") with { ChangeTime = new PaxTime(-11_644_473_600, 100) }),
        ["extra records sorted among xattrs and times"] = E(Reg("f") with
        {
            ModificationTimeNanoseconds = 10,
            AccessTime = new PaxTime(Mtime, 20),
            ChangeTime = new PaxTime(Mtime, 30),
            Xattrs = [new Xattr(B("user.x"), B("1"))],
            PaxRecords = [R("zeta", "z"), R("MSWINDOWS.fileattr", "32"), R("LIBARCHIVE.creationtime", "1.5"), R("aaa", "")],
        }),
        ["extra record with a binary value"] = E(Reg("f") with { PaxRecords = [new PaxRecord(B("MSWINDOWS.x"), [0xff, 0x00, 0x0a, 0x3d])] }),
        ["Windows-shaped entry with a long non-ASCII name"] = E(new TarEntryHeader
        {
            Name = B("Files/" + string.Concat(Enumerable.Repeat("é", 60)) + "/f.txt"),
            Type = TarEntryType.RegularFile,
            Mode = 0x8000,
            Size = 3,
            ModificationTime = Mtime,
            ModificationTimeNanoseconds = 100,
            AccessTime = new PaxTime(Mtime, 200),
            ChangeTime = new PaxTime(Mtime, 300),
            PaxRecords = [R("MSWINDOWS.fileattr", "32"), R("LIBARCHIVE.creationtime", "1700000000.0000004")],
        }, "abc"u8.ToArray()),
        ["the directory of seed-semantics 2f"] = E(SeedDirectory()),
    };

    public static TheoryData<string> Names => [.. Cases.Keys];

    [Theory]
    [MemberData(nameof(Names))]
    public async Task EncoderWritesTheBytesGoWrites(string name)
    {
        var entry = Cases[name];

        var reference = await go.WriteAsync([entry]);

        Assert.True(reference.ExitCode == 0, $"the Go reference failed on '{name}': {reference.Error}");
        var output = new ArrayBufferWriter<byte>();
        var length = TarHeaderEncoder.Write(entry.Header, output);
        output.Write(entry.Data);
        TarHeaderEncoder.WritePadding(entry.Data.Length, output);
        output.Write(TarHeaderEncoder.EndOfArchive.Span);
        TarBytesComparison.AssertEqual(reference.Output, output.WrittenSpan);
        Assert.Equal(length, TarHeaderEncoder.EncodedLength(entry.Header));
    }

    [Fact]
    public void TheSeedDirectoryHasTheDocumentedRecordsInByteOrder()
    {
        var output = new ArrayBufferWriter<byte>();

        TarHeaderEncoder.Write(SeedDirectory(), output);

        var records = Encoding.ASCII.GetString(output.WrittenSpan.Slice(TarHeaderEncoder.BlockSize, 141));
        Assert.Equal(
            "46 LIBARCHIVE.creationtime=1600000000.0000001\n25 MSWINDOWS.fileattr=16\n20 atime=1700000001\n22 ctime=1700000002.5\n28 mtime=1700000000.1234567\n",
            records);
        Assert.Equal("Files/PaxHeaders.0/dir", Encoding.ASCII.GetString(output.WrittenSpan[..22]));
    }

    [Theory]
    [InlineData("a=b")]
    [InlineData("=b")]
    [InlineData("\0b")]
    public async Task AnExtraKeyWithAnEqualsSignOrNulIsRefusedLikeGoRefusesIt(string key)
    {
        // At the key's first byte too: a record "=b=v" would read as the key "" and the value "b=v".
        var header = Reg("f") with { PaxRecords = [R(key, "v")] };

        var reference = await go.WriteAsync([new GoldenEntry(header)]);

        Assert.NotEqual(0, reference.ExitCode);
        Assert.Throws<TarEncodingException>(() => TarHeaderEncoder.EncodedLength(header));
    }

    [Theory]
    [InlineData("path")]
    [InlineData("linkpath")]
    [InlineData("size")]
    [InlineData("uid")]
    [InlineData("gid")]
    [InlineData("uname")]
    [InlineData("gname")]
    [InlineData("mtime")]
    [InlineData("atime")]
    [InlineData("ctime")]
    [InlineData("SCHILY.xattr.user.a")]
    [InlineData("GNU.sparse.map")]
    [InlineData("")]
    public void AKeyTheHeaderFieldsOwnIsRefusedRatherThanSilentlyDropped(string key)
    {
        var header = Reg("f") with { PaxRecords = [R(key, "1")] };

        var error = Assert.Throws<TarEncodingException>(() => TarHeaderEncoder.Write(header, new ArrayBufferWriter<byte>()));
        Assert.StartsWith($"f: '{key}' ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AKeyGivenTwiceIsRefused()
    {
        var header = Reg("f") with { PaxRecords = [R("MSWINDOWS.fileattr", "1"), R("MSWINDOWS.fileattr", "2")] };

        Assert.Throws<TarEncodingException>(() => TarHeaderEncoder.EncodedLength(header));
    }

    [Theory]
    [InlineData(-1)]
    [InlineData(1_000_000_000)]
    public void NanosecondsOutsideOneSecondAreRefused(int nanoseconds)
    {
        Assert.Throws<TarEncodingException>(() => TarHeaderEncoder.EncodedLength(Reg("f") with { ModificationTimeNanoseconds = nanoseconds }));
        Assert.Throws<TarEncodingException>(() => TarHeaderEncoder.EncodedLength(Reg("f") with { AccessTime = new PaxTime(0, nanoseconds) }));
    }

    [Theory]
    [InlineData(0L, "0")]
    [InlineData(1L, "0.000000001")]
    [InlineData(1_500_000_000L, "1.5")]
    [InlineData(-1L, "-0.000000001")]
    [InlineData(-1_250_000_000L, "-1.25")]
    [InlineData(-2_000_000_000L, "-2")]
    [InlineData(long.MinValue, "-9223372036.854775808")]
    public void PaxTimeFormatsLikeGo(long unixNanoseconds, string expected)
    {
        Assert.Equal(expected, Encoding.ASCII.GetString(PaxTime.FromUnixNanoseconds(unixNanoseconds).Format()));
    }

    // seed-semantics.md §2f: a directory as backuptar writes it.
    private static TarEntryHeader SeedDirectory() => new()
    {
        Name = B("Files/dir"),
        Type = TarEntryType.Directory,
        Mode = 0x4000,
        ModificationTime = 1_700_000_000,
        ModificationTimeNanoseconds = 123_456_700,
        AccessTime = new PaxTime(1_700_000_001, 0),
        ChangeTime = new PaxTime(1_700_000_002, 500_000_000),
        PaxRecords = [R("MSWINDOWS.fileattr", "16"), R("LIBARCHIVE.creationtime", "1600000000.0000001")],
    };

    private static TarEntryHeader Reg(string name) =>
        new() { Name = B(name), Type = TarEntryType.RegularFile, Mode = 0x1a4, ModificationTime = Mtime };

    private static GoldenEntry E(TarEntryHeader header) => new(header);

    private static GoldenEntry E(TarEntryHeader header, byte[] data) => new(header with { Size = data.Length }) { Data = data };

    private static PaxRecord R(string key, string value) => new(B(key), B(value));

    private static byte[] B(string text) => Encoding.UTF8.GetBytes(text);
}
