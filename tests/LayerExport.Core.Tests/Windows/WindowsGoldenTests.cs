using LayerExport.Core.Tests.Tar;
using static LayerExport.Core.Tests.Windows.WindowsExpected;
using static LayerExport.Core.Tests.Windows.WindowsTestStore;

namespace LayerExport.Core.Tests.Windows;

/// <summary>
/// Windows layers export to the very bytes Go's archive/tar writes for the headers hcsshim builds from the same
/// directory: names, order, typeflags, modes, PAX records, alternate streams, links, whiteouts, sparse data.
/// </summary>
public sealed class WindowsGoldenTests(GoTarFixture go) : IClassFixture<GoTarFixture>, IDisposable
{
    private const string Base = "base0";
    private const string ParentPath = @"C:\ProgramData\docker\windowsfilter\base0";

    private static readonly long SystemDeltaTime = Ticks(1_700_000_100, 1_234_567);
    private static readonly byte[] Sd1 = [0x01, 0x00, 0x04, 0x80, 0x14, 0x00, 0x00, 0x00, 0xAA, 0xBB];
    private static readonly byte[] Sd2 = [0x01, 0x00, 0x14, 0x8C, 0xFF, 0x00, 0x3D, 0x0A];

    private readonly WindowsTestStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task EveryStreamKindPlainEntriesAndTombstonesOfATransportDirectory()
    {
        AddBaseLayer();
        var expected = BuildEveryStreamKindLayer("layer1");

        await AssertExportMatchesGoAsync("layer1", expected);
    }

    [Fact]
    public async Task SparseFilesAreMaterialisedWithTheirLogicalSize()
    {
        AddBaseLayer();
        _store.AddLayer("sparse", ParentPath);
        AddTransportFrame("sparse");
        var write = Ticks(1_650_000_000, 1);
        var access = Ticks(1_650_000_002, 3);
        List<GoldenEntry> expected = [Entry("Files", PlainInfo(DirectoryAttribute, SystemDeltaTime))];

        // Size > 0 without allocated ranges: an empty sparse data stream, then only the terminator (hcsshim#2926 wrote size 0).
        const uint sparse = 0x200 | ArchiveAttribute;
        _store.Encoded("sparse/Files/all-holes.bin", sparse, new BackupStreamBuilder().SparseDataStream().Block(1 << 20, []).ToArray(), write, access);
        expected.Add(Entry("Files/all-holes.bin", Info(sparse, write, access) with { StreamMode = RegularBits }, new byte[1 << 20]));

        // An empty sparse file with a trailing terminator (go-winio#375 failed on it), and one without.
        _store.Encoded("sparse/Files/empty-old.bin", sparse, new BackupStreamBuilder().SparseDataStream().Block(0, []).ToArray(), write, access);
        expected.Add(Entry("Files/empty-old.bin", Info(sparse, write, access) with { StreamMode = RegularBits }));
        _store.Encoded("sparse/Files/empty.bin", sparse, new BackupStreamBuilder().SparseDataStream().ToArray(), write, access);
        expected.Add(Entry("Files/empty.bin", Info(sparse, write, access) with { StreamMode = RegularBits }));

        // Several allocated ranges with holes before, between and after them; a stream after the blocks is still read.
        var multi = new BackupStreamBuilder().SecurityDescriptor(Sd1).SparseDataStream()
            .Block(4096, "AAAA"u8.ToArray()).Block(10_000, "BBB"u8.ToArray()).Block(20_000, [])
            .AlternateStream("tag", "t"u8.ToArray()).ToArray();
        _store.Encoded("sparse/Files/multi.bin", sparse, multi, write, access);
        var multiData = new byte[20_000];
        "AAAA"u8.CopyTo(multiData.AsSpan(4096));
        "BBB"u8.CopyTo(multiData.AsSpan(10_000));
        var multiInfo = Info(sparse, write, access) with { StreamMode = RegularBits, HasSecurity = true, SecurityDescriptor = Sd1 };
        expected.Add(Entry("Files/multi.bin", multiInfo, multiData));
        expected.Add(AlternateStream("Files/multi.bin:tag", RegularBits, multiInfo, "t"u8.ToArray()));

        // One allocated range: a sparse-flagged data stream with the content.
        _store.Encoded("sparse/Files/one-range.bin", sparse, new BackupStreamBuilder().DataStream("hello"u8.ToArray(), BackupStreamBuilder.SparseAttribute).ToArray(), write, access);
        expected.Add(Entry("Files/one-range.bin", Info(sparse, write, access) with { StreamMode = RegularBits }, "hello"u8.ToArray()));
        expected.AddRange(HivesEntries());

        await AssertExportMatchesGoAsync("sparse", expected);
    }

    [Fact]
    public async Task LaterNamesOfAFileAreHardLinksToTheFirstWithMode0644()
    {
        AddBaseLayer();
        _store.AddLayer("links", ParentPath);
        AddTransportFrame("links");
        var write = Ticks(1_650_000_000, 5);
        var access = Ticks(1_650_000_001, 6);
        var stream = new BackupStreamBuilder().SecurityDescriptor(Sd1).DataStream("shared"u8.ToArray()).AlternateStream("s", "x"u8.ToArray()).ToArray();
        _store.Encoded("links/Files/a.txt", ArchiveAttribute, stream, write, access);
        _store.EncodedDirectory("links/Files/sub", DirectoryAttribute, new BackupStreamBuilder().SecurityDescriptor(Sd2).ToArray(), write, access);
        Support.Posix.HardLink(_store.Path("links/Files/a.txt"), _store.Path("links/Files/sub/z.txt"));
        Support.Posix.HardLink(_store.Path("links/Files/a.txt"), _store.Path("links/Files/b.txt"));

        var info = Info(ArchiveAttribute, write, access);
        var fileInfo = info with { StreamMode = RegularBits, HasSecurity = true, SecurityDescriptor = Sd1 };
        List<GoldenEntry> expected =
        [
            Entry("Files", PlainInfo(DirectoryAttribute, SystemDeltaTime)),
            Entry("Files/a.txt", fileInfo, "shared"u8.ToArray()),
            AlternateStream("Files/a.txt:s", RegularBits, fileInfo, "x"u8.ToArray()),
            HardLink("Files/b.txt", "Files/a.txt", info),
            Entry("Files/sub", Info(DirectoryAttribute, write, access) with { HasSecurity = true, SecurityDescriptor = Sd2 }),
            HardLink("Files/sub/z.txt", "Files/a.txt", info),
            .. HivesEntries(),
        ];

        await AssertExportMatchesGoAsync("links", expected);
    }

    [Fact]
    public async Task LongAndNonAsciiNamesStreamNamesTargetsAndWhiteouts()
    {
        AddBaseLayer();
        _store.AddLayer("long", ParentPath);
        AddTransportFrame("long", tombstones: $"\\{new string('d', 120)}\\{new string('w', 40)}.tmp\n");
        var write = Ticks(1_650_000_000, 7);
        var access = Ticks(1_650_000_000, 8);
        var directory = "Files/" + new string('d', 120);
        var file = directory + "/日本語-ファイル.txt";
        var streamName = new string('s', 110);
        var target = @"..\" + string.Concat(Enumerable.Repeat(@"very long\", 15)) + "target.txt";

        _store.EncodedDirectory("long/" + directory, DirectoryAttribute, new BackupStreamBuilder().SecurityDescriptor(Sd1).ToArray(), write, access);
        _store.Encoded("long/" + file, ArchiveAttribute, new BackupStreamBuilder().DataStream("u"u8.ToArray()).AlternateStream(streamName, "v"u8.ToArray()).ToArray(), write, access);
        _store.Encoded("long/" + directory + "/symlink", ArchiveAttribute | ReparsePointAttribute, new BackupStreamBuilder().Symlink(target, relative: true).ToArray(), write, access);

        var fileInfo = Info(ArchiveAttribute, write, access) with { StreamMode = RegularBits };
        List<GoldenEntry> expected =
        [
            Entry("Files", PlainInfo(DirectoryAttribute, SystemDeltaTime)),
            Entry(directory, Info(DirectoryAttribute, write, access) with { HasSecurity = true, SecurityDescriptor = Sd1 }),
            Whiteout(directory + "/.wh." + new string('w', 40) + ".tmp"),
            Entry(directory + "/symlink", Info(ArchiveAttribute | ReparsePointAttribute, write, access) with { StreamMode = SymlinkBits, Reparse = true }, linkName: target),
            Entry(file, fileInfo, "u"u8.ToArray()),
            AlternateStream(file + ":" + streamName, RegularBits, fileInfo, "v"u8.ToArray()),
            .. HivesEntries(),
        ];

        await AssertExportMatchesGoAsync("long", expected);
    }

    [Fact]
    public async Task ABaseLayerExportsFilesAndUtilityVmFilesInOnePass()
    {
        var expected = AddBaseLayer();

        await AssertExportMatchesGoAsync(Base, expected);
    }

    [Fact]
    public async Task TombstonesWithCrlfBlankLinesAndDotsLandAfterTheirDirectoryInFileOrder()
    {
        AddBaseLayer();
        _store.AddLayer("tomb", ParentPath);
        var lines = "\\z-last.txt\r\n\r\n\\dir\\b\r\n\\dir/./a\r\n\\dir\\sub\\..\\c\r\n\\missing\\x\r\n\\z-last.txt\r\n\\..\\Hives\\Old_Delta\r\n";
        AddTransportFrame("tomb", tombstones: lines, newline: "\r\n");
        var write = Ticks(1_650_000_000, 9);
        _store.EncodedDirectory("tomb/Files/dir", DirectoryAttribute, [], write, write);

        List<GoldenEntry> expected =
        [
            Entry("Files", PlainInfo(DirectoryAttribute, SystemDeltaTime)),
            Whiteout("Files/.wh.z-last.txt"),
            Whiteout("Files/.wh.z-last.txt"),
            Entry("Files/dir", Info(DirectoryAttribute, write, write)),
            Whiteout("Files/dir/.wh.b"),
            Whiteout("Files/dir/.wh.a"),
            Whiteout("Files/dir/.wh.c"),
            Entry("Hives", PlainInfo(DirectoryAttribute, SystemDeltaTime)),
            Whiteout("Hives/.wh.Old_Delta"),
            .. HivesEntries().Skip(1),
        ];

        await AssertExportMatchesGoAsync("tomb", expected);
    }

    private async Task AssertExportMatchesGoAsync(string id, List<GoldenEntry> expected)
    {
        var reference = await go.WriteAsync(expected);
        Assert.True(reference.ExitCode == 0, $"the Go reference failed: {reference.Error}");

        var actual = await _store.ExportAsync(id);

        TarBytesComparison.AssertEqual(reference.Output, actual);
    }

    // Files, Hives/System_Delta (whose times Files and Hives take) and tombstones.txt.
    private void AddTransportFrame(string id, string tombstones = "", string newline = "\n")
    {
        _store.PlainDirectory(id + "/Files", Ticks(1_600_000_000));
        _store.PlainDirectory(id + "/Hives", Ticks(1_600_000_001));
        _store.Plain(id + "/Hives/System_Delta", "regf-system"u8.ToArray(), SystemDeltaTime);
        _store.Tombstones(id, tombstones, newline);
    }

    private static IEnumerable<GoldenEntry> HivesEntries() =>
    [
        Entry("Hives", PlainInfo(DirectoryAttribute, SystemDeltaTime)),
        Entry("Hives/System_Delta", PlainInfo(ArchiveAttribute, SystemDeltaTime) with { StreamMode = RegularBits }, "regf-system"u8.ToArray()),
    ];

    private List<GoldenEntry> BuildEveryStreamKindLayer(string id)
    {
        _store.AddLayer(id, ParentPath);
        _store.PlainDirectory(id + "/Files", Ticks(1_600_000_000));
        var dirWrite = Ticks(1_650_000_000, 1);
        var dirAccess = Ticks(1_650_000_001, 9_999_999);
        var fileWrite = Ticks(1_660_000_000, 4_242_424);
        var fileAccess = Ticks(1_660_000_100, 5);

        _store.EncodedDirectory(id + "/Files/$Recycle.Bin", DirectoryAttribute, [], dirWrite, dirAccess);
        _store.Encoded(id + "/Files/$Recycle.Bin/deleted.txt", ArchiveAttribute, [], fileWrite, fileAccess);

        _store.EncodedDirectory(id + "/Files/dir", DirectoryAttribute, new BackupStreamBuilder().SecurityDescriptor(Sd1).Eas(("DIR.EA", [1, 2, 3])).ToArray(), dirWrite, dirAccess);
        var aStream = new BackupStreamBuilder()
            .SecurityDescriptor(Sd2)
            .Stream(BackupStreamBuilder.PropertyData, [9, 9])
            .DataStream("hello windows\r\n"u8.ToArray())
            .AlternateStream("Zone.Identifier", "[ZoneTransfer]\r\nZoneId=3\r\n"u8.ToArray())
            .AlternateStream("second", [])
            .Eas(("AFTER.DATA", [0xFF, 0x00]), ("Second", "v"u8.ToArray()))
            .Stream(BackupStreamBuilder.ObjectId, new byte[16])
            .Stream(BackupStreamBuilder.Link, [1])
            .Stream(BackupStreamBuilder.TransactionalData, [2])
            .ToArray();
        _store.Encoded(id + "/Files/dir/a.txt", ArchiveAttribute, aStream, fileWrite, fileAccess);
        _store.Encoded(id + "/Files/dir/empty-with-ads.txt", ArchiveAttribute, new BackupStreamBuilder().SecurityDescriptor(Sd1).AlternateStream("lost", "z"u8.ToArray()).ToArray(), fileWrite, fileAccess);
        _store.Encoded(id + "/Files/dir/empty.txt", ArchiveAttribute, new BackupStreamBuilder().SecurityDescriptor(Sd1).ToArray(), fileWrite, fileAccess);
        _store.Encoded(id + "/Files/dir/link.txt", ArchiveAttribute | ReparsePointAttribute, new BackupStreamBuilder().SecurityDescriptor(Sd1).Symlink("a.txt", relative: true).ToArray(), fileWrite, fileAccess);
        _store.EncodedDirectory(id + "/Files/junction", DirectoryAttribute | ReparsePointAttribute, new BackupStreamBuilder().SecurityDescriptor(Sd2).Junction(@"C:\target").ToArray(), dirWrite, dirAccess);
        _store.Encoded(id + "/Files/zzz.txt", ReadOnlyAttribute | ArchiveAttribute, new BackupStreamBuilder().DataStream("ro"u8.ToArray()).ToArray(), fileWrite, fileAccess);

        _store.PlainDirectory(id + "/Hives", Ticks(1_600_000_001));
        _store.Plain(id + "/Hives/Software_Delta", "regf-software"u8.ToArray(), Ticks(1_690_000_000, 3));
        _store.Plain(id + "/Hives/System_Delta", "regf-system"u8.ToArray(), SystemDeltaTime);
        _store.PlainDirectory(id + "/UtilityVM", Ticks(1_610_000_000, 1));
        _store.PlainDirectory(id + "/UtilityVM/Files", Ticks(1_610_000_000, 2));
        _store.PlainDirectory(id + "/UtilityVM/Files/EFI", Ticks(1_610_000_000, 3));
        _store.Plain(id + "/UtilityVM/Files/EFI/boot.efi", "MZ"u8.ToArray(), Ticks(1_610_000_000, 4));
        _store.Plain(id + "/UtilityVM/Files/empty", [], Ticks(1_610_000_000, 5));
        _store.Tombstones(id, "\\gone.txt\n\\dir\\old.dll\n\\dir\\sub\\x\n");

        var dirInfo = Info(DirectoryAttribute, dirWrite, dirAccess) with
        {
            HasSecurity = true,
            SecurityDescriptor = Sd1,
            ExtendedAttributes = [Ea("DIR.EA", [1, 2, 3])],
        };
        var aInfo = Info(ArchiveAttribute, fileWrite, fileAccess) with
        {
            StreamMode = RegularBits,
            HasSecurity = true,
            SecurityDescriptor = Sd2,
            ExtendedAttributes = [Ea("AFTER.DATA", [0xFF, 0x00]), Ea("Second", "v"u8.ToArray())],
        };
        return
        [
            Entry("Files", PlainInfo(DirectoryAttribute, SystemDeltaTime)),
            Whiteout("Files/.wh.gone.txt"),
            Entry("Files/dir", dirInfo),
            Whiteout("Files/dir/.wh.old.dll"),
            Entry("Files/dir/a.txt", aInfo, "hello windows\r\n"u8.ToArray()),
            AlternateStream("Files/dir/a.txt:Zone.Identifier", RegularBits, aInfo, "[ZoneTransfer]\r\nZoneId=3\r\n"u8.ToArray()),
            AlternateStream("Files/dir/a.txt:second", RegularBits, aInfo, []),
            Entry("Files/dir/empty-with-ads.txt", Info(ArchiveAttribute, fileWrite, fileAccess) with { HasSecurity = true, SecurityDescriptor = Sd1 }),
            Entry("Files/dir/empty.txt", Info(ArchiveAttribute, fileWrite, fileAccess) with { HasSecurity = true, SecurityDescriptor = Sd1 }),
            Entry(
                "Files/dir/link.txt",
                Info(ArchiveAttribute | ReparsePointAttribute, fileWrite, fileAccess) with { StreamMode = SymlinkBits, Reparse = true, HasSecurity = true, SecurityDescriptor = Sd1 },
                linkName: "a.txt"),
            Entry(
                "Files/junction",
                Info(DirectoryAttribute | ReparsePointAttribute, dirWrite, dirAccess) with { StreamMode = SymlinkBits, Reparse = true, MountPoint = true, HasSecurity = true, SecurityDescriptor = Sd2 },
                linkName: @"C:\target"),
            Entry("Files/zzz.txt", Info(ReadOnlyAttribute | ArchiveAttribute, fileWrite, fileAccess) with { StreamMode = RegularBits }, "ro"u8.ToArray()),
            Entry("Hives", PlainInfo(DirectoryAttribute, SystemDeltaTime)),
            Entry("Hives/Software_Delta", PlainInfo(ArchiveAttribute, Ticks(1_690_000_000, 3)) with { StreamMode = RegularBits }, "regf-software"u8.ToArray()),
            Entry("Hives/System_Delta", PlainInfo(ArchiveAttribute, SystemDeltaTime) with { StreamMode = RegularBits }, "regf-system"u8.ToArray()),
            Entry("UtilityVM", PlainInfo(DirectoryAttribute, Ticks(1_610_000_000, 1))),
            Entry("UtilityVM/Files", PlainInfo(DirectoryAttribute, Ticks(1_610_000_000, 2))),
            Entry("UtilityVM/Files/EFI", PlainInfo(DirectoryAttribute, Ticks(1_610_000_000, 3))),
            Entry("UtilityVM/Files/EFI/boot.efi", PlainInfo(ArchiveAttribute, Ticks(1_610_000_000, 4)) with { StreamMode = RegularBits }, "MZ"u8.ToArray()),
            Entry("UtilityVM/Files/empty", PlainInfo(ArchiveAttribute, Ticks(1_610_000_000, 5))),
        ];
    }

    // A base layer: every entry encoded (directories through twins, the top ones too), read in one pass.
    private List<GoldenEntry> AddBaseLayer()
    {
        _store.AddLayer(Base);
        var write = Ticks(1_500_000_000, 1_111_111);
        var access = Ticks(1_500_000_500, 2_222_222);
        var directory = new BackupStreamBuilder().SecurityDescriptor(Sd1).ToArray();
        _store.Encoded(Base + "/Files.$wcidirs$", DirectoryAttribute, directory, write, access);
        _store.EncodedDirectory(Base + "/Files/Windows", DirectoryAttribute, directory, write, access);
        var notepad = new BackupStreamBuilder().SecurityDescriptor(Sd2).Eas(("BEFORE", [1])).DataStream("MZ-notepad"u8.ToArray())
            .AlternateStream("ads", "kept"u8.ToArray()).Eas(("AFTER", [2])).ToArray();
        _store.Encoded(Base + "/Files/Windows/notepad.exe", ArchiveAttribute, notepad, write, access);
        _store.EncodedDirectory(Base + "/Files/Windows/eas-only", DirectoryAttribute, new BackupStreamBuilder().SecurityDescriptor(Sd1).Eas(("ONLY", [3])).ToArray(), write, access);
        _store.EncodedDirectory(Base + "/Files/$RECYCLE.BIN", DirectoryAttribute, directory, write, access);
        _store.Encoded(Base + "/UtilityVM.$wcidirs$", DirectoryAttribute, directory, write, access);
        Directory.CreateDirectory(_store.Path(Base, "UtilityVM"));
        _store.Encoded(Base + "/UtilityVM/Files.$wcidirs$", DirectoryAttribute, directory, write, access);
        _store.EncodedDirectory(Base + "/UtilityVM/Files/EFI", DirectoryAttribute, directory, write, access);
        _store.Encoded(Base + "/UtilityVM/Files/EFI/bootmgfw.efi", ArchiveAttribute, new BackupStreamBuilder().SecurityDescriptor(Sd2).DataStream("efi"u8.ToArray()).ToArray(), write, access);
        _store.Write(Base + "/UtilityVM/SystemTemplate.vhdx", "not exported"u8.ToArray());
        _store.Write(Base + "/Hives/System_Delta", "not exported"u8.ToArray());
        _store.Write(Base + "/layout", "not exported"u8.ToArray());

        var directoryInfo = Info(DirectoryAttribute, write, access) with { HasSecurity = true, SecurityDescriptor = Sd1 };
        var notepadInfo = Info(ArchiveAttribute, write, access) with
        {
            StreamMode = RegularBits,
            HasSecurity = true,
            SecurityDescriptor = Sd2,
            ExtendedAttributes = [Ea("BEFORE", [1])],
        };
        return
        [
            Entry("Files", directoryInfo),
            Entry("Files/Windows", directoryInfo),
            Entry("Files/Windows/eas-only", directoryInfo with { ExtendedAttributes = [Ea("ONLY", [3])] }),
            Entry("Files/Windows/notepad.exe", notepadInfo, "MZ-notepad"u8.ToArray()),
            AlternateStream("Files/Windows/notepad.exe:ads", RegularBits, notepadInfo, "kept"u8.ToArray()),
            Entry("UtilityVM", directoryInfo),
            Entry("UtilityVM/Files", directoryInfo),
            Entry("UtilityVM/Files/EFI", directoryInfo),
            Entry("UtilityVM/Files/EFI/bootmgfw.efi", Info(ArchiveAttribute, write, access) with { StreamMode = RegularBits, HasSecurity = true, SecurityDescriptor = Sd2 }, "efi"u8.ToArray()),
        ];
    }
}
