using System.Text;
using LayerExport.Core.Tests.Support;
using static LayerExport.Core.Tests.Windows.WindowsTestStore;

namespace LayerExport.Core.Tests.Windows;

/// <summary>Readers we did not write, Python's tarfile and bsdtar (libarchive), read a Windows layer with its PAX records intact.</summary>
public sealed class WindowsArchiveReadersTests : IAsyncLifetime, IDisposable
{
    private static readonly byte[] Sd = [0x01, 0x00, 0x04, 0x80, 0xFE, 0xFF, 0x00];
    private static readonly long FileWrite = Ticks(1_660_000_000, 4_242_424);
    private static readonly long FileAccess = Ticks(1_660_000_100, 5);
    private static readonly long SystemDelta = Ticks(1_700_000_100, 1_234_567);

    private readonly WindowsTestStore _store = new();
    private string _archive = "";

    public async Task InitializeAsync()
    {
        _store.AddLayer("base0");
        _store.Encoded("base0/Files.$wcidirs$", DirectoryAttribute, [], FileWrite, FileAccess);
        _store.AddLayer("layer", "base0");
        _store.PlainDirectory("layer/Files", Ticks(1));
        _store.Encoded(
            "layer/Files/a.txt",
            ArchiveAttribute,
            new BackupStreamBuilder().SecurityDescriptor(Sd).DataStream("hello"u8.ToArray()).AlternateStream("Zone.Identifier", "zone"u8.ToArray()).Eas(("USER.EA", [0xFF, 0x01])).ToArray(),
            FileWrite,
            FileAccess);
        _store.EncodedDirectory("layer/Files/junction", DirectoryAttribute | ReparsePointAttribute, new BackupStreamBuilder().Junction(@"C:\target").ToArray(), FileWrite, FileAccess);
        _store.Plain("layer/Hives/System_Delta", "regf"u8.ToArray(), SystemDelta);
        _store.Tombstones("layer", "\\gone\n");
        _archive = await _store.ExportToFileAsync("layer");
    }

    public Task DisposeAsync() => Task.CompletedTask;

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task PythonTarfileSeesEveryWindowsRecordWithItsValue()
    {
        var members = (await PythonTarfile.ListAsync(_archive)).ToDictionary(static m => m.Name);

        var file = members["Files/a.txt"];
        Assert.Equal(('0', 5L, 0x8000L), (file.Type, file.Size, file.Mode));
        Assert.Equal(
            new Dictionary<string, string>
            {
                ["LIBARCHIVE.creationtime"] = "1660000000.4242424",
                ["MSWINDOWS.fileattr"] = "32",
                ["MSWINDOWS.rawsd"] = Convert.ToBase64String(Sd),
                ["MSWINDOWS.xattr.USER.EA"] = Convert.ToBase64String([0xFF, 0x01]),
                ["atime"] = "1660000100.0000005",
                ["ctime"] = "1660000000.4242424",
                ["mtime"] = "1660000000.4242424",
            },
            Text(file.Pax));
        Assert.Equal(1_660_000_000.4242424, file.Mtime, 6);

        var stream = members["Files/a.txt:Zone.Identifier"];
        Assert.Equal(["atime", "ctime", "mtime"], stream.Pax.Keys.Order(StringComparer.Ordinal));

        var junction = members["Files/junction"];
        Assert.Equal(('2', @"C:\target", 0xE000L), (junction.Type, junction.LinkName, junction.Mode));
        Assert.Equal("1", Encoding.ASCII.GetString(junction.Pax["MSWINDOWS.mountpoint"]));
        Assert.Equal("1040", Encoding.ASCII.GetString(junction.Pax["MSWINDOWS.fileattr"]));

        var whiteout = members["Files/.wh.gone"];
        Assert.Equal(('0', 0L, 0L, 0.0), (whiteout.Type, whiteout.Mode, whiteout.Size, whiteout.Mtime));
        Assert.Empty(whiteout.Pax);

        Assert.Equal("1700000100.1234567", Encoding.ASCII.GetString(members["Files"].Pax["mtime"]));
    }

    [Fact]
    public async Task BsdTarListsEveryEntryWithoutWarnings()
    {
        var listing = await BsdTar.ListVerboseAsync(_archive);

        Assert.Collection(
            listing,
            line => Assert.EndsWith(" Files", line, StringComparison.Ordinal),
            line => Assert.EndsWith(" Files/.wh.gone", line, StringComparison.Ordinal),
            line => Assert.EndsWith(" Files/a.txt", line, StringComparison.Ordinal),
            line => Assert.EndsWith(" Files/a.txt:Zone.Identifier", line, StringComparison.Ordinal),
            line => Assert.EndsWith(@" Files/junction -> C:\\target", line, StringComparison.Ordinal),
            line => Assert.EndsWith(" Hives", line, StringComparison.Ordinal),
            line => Assert.EndsWith(" Hives/System_Delta", line, StringComparison.Ordinal));
    }

    [Fact]
    public async Task BsdTarKeepsTheTimeRecordsToTheHundredNanosecond()
    {
        // libarchive 3.6 keeps access, change and modification times (MSWINDOWS.* it does not keep): written back
        // out as pax, those records come out as they went in. A creation time equal to the mtime, as every entry
        // here has, it leaves out as redundant.
        var copy = _store.Outputs.Combine("copy.tar");
        await ExternalTool.RunCheckedAsync("bsdtar", "-cf", copy, "--format=pax", "@" + _archive);
        var original = (await PythonTarfile.ListAsync(_archive)).ToDictionary(static m => m.Name);

        var rewritten = await PythonTarfile.ListAsync(copy);

        Assert.Equal(original.Keys, rewritten.Select(static m => m.Name));
        foreach (var member in rewritten.Where(static m => m.Pax.ContainsKey("atime")))
        {
            var before = Text(original[member.Name].Pax);
            var after = Text(member.Pax);
            Assert.Equal((before["atime"], before["ctime"], before["mtime"]), (after["atime"], after["ctime"], after["mtime"]));
            if (before.TryGetValue("LIBARCHIVE.creationtime", out var creation))
            {
                Assert.Equal(before["mtime"], after.GetValueOrDefault("LIBARCHIVE.creationtime", creation));
            }
        }
    }

    private static Dictionary<string, string> Text(IReadOnlyDictionary<string, byte[]> pax) =>
        pax.ToDictionary(static p => p.Key, static p => Encoding.UTF8.GetString(p.Value), StringComparer.Ordinal);
}
