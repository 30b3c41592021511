using System.IO.Pipelines;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;
using static LayerExport.Core.Tests.Windows.WindowsTestStore;

namespace LayerExport.Core.Tests.Windows;

/// <summary>
/// Malformed Windows layers fail with a message that names the entry and the fault: before the first byte when the
/// layer is opened or surveyed, otherwise by ending the export without its end-of-archive blocks.
/// </summary>
public sealed class WindowsMalformedTests : IDisposable
{
    private const string Layer = "t";
    private static readonly long Time = Ticks(1_650_000_000, 1);

    private readonly WindowsTestStore _store = new();

    public WindowsMalformedTests()
    {
        _store.AddLayer("base0");
        _store.Encoded("base0/Files.$wcidirs$", DirectoryAttribute, [], Time, Time);
        _store.AddLayer(Layer, "base0");
        _store.Write(Layer + "/Hives/System_Delta", "regf"u8.ToArray());
        _store.Tombstones(Layer, "");
    }

    public void Dispose() => _store.Dispose();

    [Fact]
    public void AStreamCutShortIsReportedWithItsEntryBeforeTheFirstByte()
    {
        var stream = new BackupStreamBuilder().DataStream("hello windows"u8.ToArray()).ToArray();
        _store.Encoded(Layer + "/Files/cut.txt", ArchiveAttribute, stream[..^3], Time, Time);

        var error = SurveyFails();

        Assert.Equal("Files/cut.txt", error.Path);
        Assert.Contains("truncated backup stream: stream 1 of 13 bytes at offset 24 runs past the end of the file (34 bytes)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AStreamHeaderCutShortIsReported()
    {
        var stream = new BackupStreamBuilder().DataStream("x"u8.ToArray()).ToArray();
        _store.Encoded(Layer + "/Files/header.txt", ArchiveAttribute, [.. stream, 1, 0, 0, 0, 0, 0], Time, Time);

        Assert.Contains("truncated backup stream: 6 bytes at offset 25 are too few for a stream header", SurveyFails().Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AFileWithoutItsFourAttributeBytesIsReported()
    {
        _store.Write(Layer + "/Files/short", [0x20, 0]);

        Assert.Contains("truncated: 2 bytes hold no 4-byte attributes", SurveyFails().Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownStreamIdIsReported()
    {
        _store.Encoded(Layer + "/Files/odd.txt", ArchiveAttribute, new BackupStreamBuilder().Stream(42, [1, 2]).DataStream("x"u8.ToArray()).ToArray(), Time, Time);

        var error = SurveyFails();

        Assert.Equal("Files/odd.txt", error.Path);
        Assert.EndsWith("unknown stream ID 42", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ZeroBytesAreRefusedAtTheirFirstHeaderNotParsedToTheEndOfTheFile()
    {
        // 1 MiB and 7 zero bytes read as 52,429 headers of stream ID 0 and 3 bytes too few for another: the first is refused.
        _store.Encoded(Layer + "/Files/zeros.bin", ArchiveAttribute, [], Time, Time);
        using (var file = new FileStream(_store.Path(Layer, "Files", "zeros.bin"), FileMode.Open, FileAccess.Write))
        {
            file.SetLength(4 + (1 << 20) + 7);
        }

        var error = SurveyFails();

        Assert.Equal("Files/zeros.bin", error.Path);
        Assert.EndsWith("unknown stream ID 0", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnUnknownStreamIdAfterTheDataOfABaseLayerFileIsReportedAsBackuptarWordsIt()
    {
        _store.Encoded("base0/Files/late.txt", ArchiveAttribute, new BackupStreamBuilder().DataStream("x"u8.ToArray()).Stream(42, []).ToArray(), Time, Time);
        using var store = _store.Open();
        using var export = new LayerExporter(store).Prepare("base0", []);

        var error = Assert.Throws<LayerExportException>(() => export.Survey(CancellationToken.None));

        Assert.Equal("Files/late.txt", error.Path);
        Assert.EndsWith("unknown stream ID 42 after data", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MoreStreamsThanTheBoundInOneFileAreReported()
    {
        // Link streams are ignored wherever they are, so only their number can fail these files.
        var most = new BackupStreamBuilder().DataStream("x"u8.ToArray());
        for (var i = 1; i < 65_536; i++)
        {
            most.Stream(BackupStreamBuilder.Link, []);
        }

        _store.Encoded(Layer + "/Files/most.bin", ArchiveAttribute, most.ToArray(), Time, Time);
        _store.Encoded(Layer + "/Files/too-many.bin", ArchiveAttribute, most.Stream(BackupStreamBuilder.Link, []).ToArray(), Time, Time);

        var error = SurveyFails();

        Assert.Equal("Files/too-many.bin", error.Path);
        Assert.EndsWith("more than 65536 streams in one backup stream, which no Windows file has", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnAlternateStreamNameLongerThanNtfsAllowsIsReported()
    {
        var name = new string('n', 600);
        var stream = new BackupStreamBuilder().DataStream("x"u8.ToArray()).AlternateStream(name, "y"u8.ToArray()).ToArray();
        _store.Encoded(Layer + "/Files/long-ads.txt", ArchiveAttribute, stream, Time, Time);

        var error = SurveyFails();

        Assert.Equal("Files/long-ads.txt", error.Path);
        Assert.EndsWith("alternate data stream name of 1214 bytes is longer than NTFS allows", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASecurityStreamAfterTheDataIsAnUnknownStreamAfterDataAsInBackuptar()
    {
        _store.Encoded(Layer + "/Files/late.txt", ArchiveAttribute, new BackupStreamBuilder().DataStream("x"u8.ToArray()).SecurityDescriptor([1]).ToArray(), Time, Time);

        Assert.EndsWith("unknown stream ID 3 after data", SurveyFails().Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AReparsePointThatIsNeitherASymlinkNorAJunctionIsReported()
    {
        var dedup = BackupStreamBuilder.ReparseBuffer(0x80000013, "x", "x", flags: null);
        _store.Encoded(Layer + "/Files/dedup.bin", ArchiveAttribute | ReparsePointAttribute, new BackupStreamBuilder().Stream(BackupStreamBuilder.ReparseData, dedup).ToArray(), Time, Time);

        var error = SurveyFails();

        Assert.Equal("Files/dedup.bin", error.Path);
        Assert.Contains("unsupported reparse point 80000013", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASparseAlternateStreamIsReported()
    {
        var stream = new BackupStreamBuilder().DataStream("x"u8.ToArray()).AlternateStream("s", "y"u8.ToArray(), BackupStreamBuilder.SparseAttribute).ToArray();
        _store.Encoded(Layer + "/Files/sparse-ads.txt", ArchiveAttribute, stream, Time, Time);

        Assert.EndsWith("tar of sparse alternate data streams is unsupported", SurveyFails().Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(":/../../../../outside.txt:$DATA")]
    [InlineData(":a/b:$DATA")]
    [InlineData(":a\\b:$DATA")]
    [InlineData(":a:b:$DATA")]
    [InlineData("::$DATA")]
    [InlineData("stream:$DATA")]
    [InlineData(":stream")]
    [InlineData(":stream:$INDEX_ALLOCATION")]
    public void AnAlternateStreamNameThatIsNotOneNtfsStreamNameIsReported(string name)
    {
        var stream = new BackupStreamBuilder().DataStream("x"u8.ToArray()).Stream(BackupStreamBuilder.AlternateData, "y"u8.ToArray(), name: name).ToArray();
        _store.Encoded(Layer + "/Files/named.txt", ArchiveAttribute, stream, Time, Time);

        var error = SurveyFails();

        Assert.Equal("Files/named.txt", error.Path);
        Assert.EndsWith($"alternate data stream name '{name}' is not ':<stream name>:$DATA'", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void SparseBlocksWithoutTheirTerminatorAreReported()
    {
        var stream = new BackupStreamBuilder().SparseDataStream().Block(0, "a"u8.ToArray()).ToArray();
        _store.Encoded(Layer + "/Files/open.bin", ArchiveAttribute, stream, Time, Time);

        Assert.EndsWith("the sparse blocks end without the empty block that closes them", SurveyFails().Message, StringComparison.Ordinal);
    }

    // A sparse file's logical size is the offset its terminating block names, up to 2^63 - 1, with no data stored.
    [Theory]
    [InlineData(1, long.MaxValue - 1023, "Files/huge0.bin")]
    [InlineData(1, long.MaxValue, "Files/huge0.bin")]
    [InlineData(4, 1L << 62, "Files/huge1.bin")]
    public void SparseFilesWhoseTarWouldBeLongerThanALongCanCountAreReported(int count, long logicalSize, string failing)
    {
        for (var i = 0; i < count; i++)
        {
            var stream = new BackupStreamBuilder().SparseDataStream().Block(logicalSize, []).ToArray();
            _store.Encoded($"{Layer}/Files/huge{i}.bin", 0x200 | ArchiveAttribute, stream, Time, Time);
        }

        var error = SurveyFails();

        Assert.Equal(failing, error.Path);
        Assert.Contains("the tar would be longer than 9223372036854775807 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ADirectoryWhoseTwinHoldsDataIsAMismatchAsInBackuptar()
    {
        // A directory's size is 0 whatever its streams say, so any data is more than it holds.
        _store.EncodedDirectory(Layer + "/Files/dir", DirectoryAttribute, new BackupStreamBuilder().DataStream("abc"u8.ToArray()).ToArray(), Time, Time);

        var error = SurveyFails();

        Assert.Equal("Files/dir", error.Path);
        Assert.EndsWith("mismatch between file size 0 and header size 3", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ADirectoryWhoseTwinHoldsSparseDataIsAMismatch()
    {
        _store.EncodedDirectory(Layer + "/Files/dir", DirectoryAttribute, new BackupStreamBuilder().SparseDataStream().Block(0, "ab"u8.ToArray()).Block(5, []).ToArray(), Time, Time);

        var error = SurveyFails();

        Assert.Equal("Files/dir", error.Path);
        Assert.EndsWith("mismatch between file size 0 and sparse data of 5 bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASparseBlockThatStartsBeforeTheEndOfThePreviousOneIsReported()
    {
        // Overlapping blocks would write some bytes twice and leave the tar shorter than its announced size.
        var stream = new BackupStreamBuilder().SparseDataStream().Block(0, "ab"u8.ToArray()).Block(1, "c"u8.ToArray()).Block(4, []).ToArray();
        _store.Encoded(Layer + "/Files/overlap.bin", ArchiveAttribute, stream, Time, Time);

        Assert.EndsWith("cannot seek back from 2 to 1", SurveyFails().Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AnotherStreamAmongTheSparseBlocksIsReported()
    {
        var stream = new BackupStreamBuilder().SparseDataStream().Block(0, "a"u8.ToArray()).Stream(BackupStreamBuilder.Link, []).Block(2, []).ToArray();
        _store.Encoded(Layer + "/Files/mixed.bin", ArchiveAttribute, stream, Time, Time);

        Assert.EndsWith("unexpected stream 5 among the sparse blocks", SurveyFails().Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASparseBlockBeforeTheDataOfABaseLayerFileIsAnUnknownStreamAsInBackuptar()
    {
        // go-winio#375: the one-pass reader takes a sparse block for an unknown stream; the two-pass one accepts it.
        _store.Encoded("base0/Files/early.bin", ArchiveAttribute, new BackupStreamBuilder().Block(0, []).DataStream("x"u8.ToArray()).ToArray(), Time, Time);
        using var store = _store.Open();
        using var export = new LayerExporter(store).Prepare("base0", []);

        var error = Assert.Throws<LayerExportException>(() => export.Survey(CancellationToken.None));

        Assert.Equal("Files/early.bin", error.Path);
        Assert.EndsWith("unknown stream ID 9", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AMetadataStreamLargerThanATarHeaderCanHoldIsReported()
    {
        var stream = new BackupStreamBuilder().SecurityDescriptor(new byte[(1 << 20) + 1]).DataStream("x"u8.ToArray()).ToArray();
        _store.Encoded(Layer + "/Files/big-sd.txt", ArchiveAttribute, stream, Time, Time);

        Assert.EndsWith("stream 3 of 1048577 bytes is too large for a tar header", SurveyFails().Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ADirectoryWithoutItsTwinIsReported()
    {
        Directory.CreateDirectory(_store.Path(Layer, "Files", "bare"));

        var error = SurveyFails();

        Assert.Equal("Files/bare", error.Path);
        Assert.Contains("the directory has no bare.$wcidirs$ twin holding its metadata", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASymbolicLinkInTheLayerIsRefused()
    {
        File.CreateSymbolicLink(_store.Path(Layer, "Files", "escape"), "/etc/passwd");

        var error = SurveyFails();

        Assert.Equal("Files/escape", error.Path);
        Assert.Contains("is a symbolic link; a Windows layer directory holds only files and directories", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("Version 1.0\n")]
    [InlineData("\uFEFFVersion 2.0\n")]
    [InlineData("\uFEFFversion 1.0\n")]
    [InlineData("")]
    public void ATombstonesFileWithoutItsHeaderIsAProblemWhenTheLayerIsOpened(string content)
    {
        _store.Write(Layer + "/tombstones.txt", System.Text.Encoding.UTF8.GetBytes(content));
        using var store = _store.Open();

        var error = Assert.Throws<WindowsLayerFormatException>(() => new LayerExporter(store).Prepare(Layer, []));

        Assert.Equal("Layer 't': tombstones.txt must start with a UTF-8 byte-order mark and 'Version 1.0' on its first line.", error.Message);
    }

    [Fact]
    public void ATransportDirectoryWithoutTombstonesIsAProblemWhenTheLayerIsOpened()
    {
        File.Delete(_store.Path(Layer, "tombstones.txt"));
        using var store = _store.Open();

        var error = Assert.Throws<WindowsLayerFormatException>(() => new LayerExporter(store).Prepare(Layer, []));

        Assert.Contains("has no tombstones.txt", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ATransportDirectoryWithoutSystemDeltaIsAProblemWhenTheLayerIsOpened()
    {
        File.Delete(_store.Path(Layer, "Hives", "System_Delta"));
        using var store = _store.Open();

        var error = Assert.Throws<WindowsLayerFormatException>(() => new LayerExporter(store).Prepare(Layer, []));

        Assert.Equal("Layer 't' has no Hives/System_Delta, whose times Files and Hives take.", error.Message);
    }

    [Fact]
    public void ASymlinkedHivesDirectoryIsRefusedWhenTheLayerIsOpened()
    {
        Directory.Delete(_store.Path(Layer, "Hives"), recursive: true);
        _store.Write("elsewhere/System_Delta", "regf"u8.ToArray());
        File.CreateSymbolicLink(_store.Path(Layer, "Hives"), _store.Path("elsewhere"));
        using var store = _store.Open();

        var error = Assert.Throws<LayerRefusedException>(() => new LayerExporter(store).Prepare(Layer, []));

        Assert.Equal("Layer 't': Hives is a symbolic link or not a directory; refused.", error.Message);
    }

    [Fact]
    public void ASymlinkedSystemDeltaIsRefusedWhenTheLayerIsOpened()
    {
        File.Delete(_store.Path(Layer, "Hives", "System_Delta"));
        _store.Write("elsewhere/System_Delta", "regf"u8.ToArray());
        File.CreateSymbolicLink(_store.Path(Layer, "Hives", "System_Delta"), _store.Path("elsewhere", "System_Delta"));
        using var store = _store.Open();

        var error = Assert.Throws<LayerRefusedException>(() => new LayerExporter(store).Prepare(Layer, []));

        Assert.Equal("Layer 't': Hives/System_Delta is a symbolic link; refused.", error.Message);
    }

    [Fact]
    public void ASystemDeltaThatIsNoRegularFileIsAProblemWhenTheLayerIsOpened()
    {
        File.Delete(_store.Path(Layer, "Hives", "System_Delta"));
        Directory.CreateDirectory(_store.Path(Layer, "Hives", "System_Delta"));
        using var store = _store.Open();

        var error = Assert.Throws<WindowsLayerFormatException>(() => new LayerExporter(store).Prepare(Layer, []));

        Assert.Equal("Layer 't': Hives/System_Delta is not a regular file.", error.Message);
    }

    [Fact]
    public async Task AFileCutShortAfterTheSurveyEndsTheExportWithoutEndOfArchive()
    {
        var data = Enumerable.Range(0, 200_000).Select(static i => (byte)((i % 251) + 1)).ToArray();
        _store.Encoded(Layer + "/Files/a-first.bin", ArchiveAttribute, new BackupStreamBuilder().DataStream(data).ToArray(), Time, Time);
        _store.Encoded(Layer + "/Files/b-cut.bin", ArchiveAttribute, new BackupStreamBuilder().DataStream(data).ToArray(), Time, Time);
        using var store = _store.Open();
        using var export = new LayerExporter(store).Prepare(Layer, []);
        var survey = export.Survey(CancellationToken.None);
        using (var file = new FileStream(_store.Path(Layer, "Files", "b-cut.bin"), FileMode.Open, FileAccess.Write))
        {
            file.SetLength(100);
        }

        var pipe = new Pipe();
        var writing = TarExport.WriteAsync(export, pipe.Writer, CancellationToken.None);
        using var received = new MemoryStream();
        var reading = pipe.Reader.AsStream().CopyToAsync(received);

        var error = await Assert.ThrowsAsync<LayerExportException>(() => writing);
        await Assert.ThrowsAnyAsync<Exception>(() => reading);

        Assert.Equal("Files/b-cut.bin", error.Path);
        Assert.Contains("truncated backup stream", error.Message, StringComparison.Ordinal);
        Assert.InRange(received.Length, data.Length, survey.TarSize - 1024);
        Assert.Contains((byte)1, received.ToArray()[^1024..]);
    }

    private LayerExportException SurveyFails()
    {
        using var store = _store.Open();
        using var export = new LayerExporter(store).Prepare(Layer, []);
        return Assert.Throws<LayerExportException>(() => export.Survey(CancellationToken.None));
    }
}
