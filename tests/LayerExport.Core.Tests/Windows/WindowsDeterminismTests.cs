using LayerExport.Core.Export;
using static LayerExport.Core.Tests.Windows.WindowsTestStore;

namespace LayerExport.Core.Tests.Windows;

/// <summary>Exporting a Windows layer does not change it: the access times it exports are not moved by reading, so the bytes repeat.</summary>
public sealed class WindowsDeterminismTests : IDisposable
{
    private readonly WindowsTestStore _store = new();

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task ExportingTwiceGivesTheSameBytesAndLeavesAccessTimesAlone()
    {
        // An access time before the modification time is one relatime would move on the first read.
        var write = Ticks(1_660_000_000, 7);
        var access = Ticks(1_500_000_000, 3);
        _store.AddLayer("base0");
        _store.Encoded("base0/Files.$wcidirs$", DirectoryAttribute, new BackupStreamBuilder().SecurityDescriptor([1]).ToArray(), write, access);
        _store.Encoded("base0/Files/a.txt", ArchiveAttribute, new BackupStreamBuilder().DataStream("content"u8.ToArray()).ToArray(), write, access);
        var transportFile = _store.Path("base0", "Files", "a.txt");

        var first = await _store.ExportAsync("base0");
        var accessAfterFirst = File.GetLastAccessTimeUtc(transportFile);
        var second = await _store.ExportAsync("base0");

        Assert.Equal(first, second);
        Assert.Equal(access - Epoch + DateTime.UnixEpoch.Ticks, accessAfterFirst.Ticks);
        Assert.Equal(accessAfterFirst, File.GetLastAccessTimeUtc(transportFile));
    }

    [Fact]
    public async Task TheSurveyPredictsTheExactLengthAndEntryCount()
    {
        var time = Ticks(1_660_000_000, 1);
        _store.AddLayer("base0");
        _store.Encoded("base0/Files.$wcidirs$", DirectoryAttribute, [], time, time);
        _store.Encoded(
            "base0/Files/sparse.bin",
            ArchiveAttribute,
            new BackupStreamBuilder().SparseDataStream().Block(100, "x"u8.ToArray()).Block(5000, []).AlternateStream("a", "y"u8.ToArray()).ToArray(),
            time,
            time);

        var tar = await _store.ExportAsync("base0");
        using var store = _store.Open();
        using var export = new LayerExporter(store).Prepare("base0", []);
        var survey = export.Survey(CancellationToken.None);

        Assert.Equal(tar.LongLength, survey.TarSize);
        Assert.Equal(3, survey.Entries);
    }
}
