using System.Text;
using LayerExport.Core.Export;
using LayerExport.Core.Reader;
using LayerExport.Core.Reader.Windows;
using LayerExport.Core.Store;
using LayerExport.Core.Tar;
using LayerExport.Core.Tests.Support;
using static LayerExport.Core.Tests.Windows.WindowsTestStore;

namespace LayerExport.Core.Tests.Windows;

/// <summary>
/// Which names of a Windows layer directory the walk yields, which it refuses, and that whatever is swapped in while
/// it reads is never exported in place of what it listed.
/// </summary>
public sealed class WindowsLayerReaderTests : IDisposable
{
    private const string Base = "base0";
    private const string Layer = "t";
    private static readonly long Time = Ticks(1_650_000_000, 1);

    private readonly WindowsTestStore _store = new();

    public WindowsLayerReaderTests()
    {
        _store.AddLayer(Base);
        _store.Encoded(Base + "/Files.$wcidirs$", DirectoryAttribute, [], Time, Time);
        _store.AddLayer(Layer, Base);
        _store.Write(Layer + "/Hives/System_Delta", "regf"u8.ToArray());
        _store.Tombstones(Layer, "");
    }

    public void Dispose() => _store.Dispose();

    // Only the innermost directories stay open: a layer may nest more directories than the process has descriptors.
    [Fact]
    public void ADeepTransportLayerIsReadWholeHoldingABoundedNumberOfDirectoriesOpen()
    {
        var chain = new List<string>();
        var path = "Hives";
        for (var level = 0; level < 100; level++)
        {
            path += "/d";
            chain.Add(path);
            _store.PlainDirectory(Layer + "/" + path, Time);
        }

        _store.Plain(Layer + "/" + path + "/f", "deep"u8.ToArray(), Time);
        chain.Add(path + "/f");
        using var store = _store.Open();
        using var layer = store.Open(LayerId.Parse(Layer));
        using var reader = layer.CreateReader(CancellationToken.None);

        var names = new List<string>();
        var mostOpen = 0;
        while (reader.TryRead(out var entry))
        {
            names.Add(entry.DisplayPath);
            entry.Dispose();
            mostOpen = Math.Max(mostOpen, OpenFileDescriptors.Under(_store.Path(Layer, "Hives")).Count);
        }

        Assert.Equal(chain, names.Where(name => name.StartsWith("Hives/d", StringComparison.Ordinal)));
        Assert.InRange(mostOpen, 1, DirectoryWalk<WindowsLayerReader.WindowsFrame, byte[]>.OpenFramesAtMost);
    }

    [Fact]
    public void ASymlinkedUtilityVmOfABaseLayerIsRefusedAtTheLayerRoot()
    {
        // Followed, it would export a tree from anywhere on the host as the layer's UtilityVM.
        Directory.CreateSymbolicLink(_store.Path(Base, "UtilityVM"), "/etc");
        using var store = _store.Open();
        using var layer = store.Open(LayerId.Parse(Base));

        var error = Assert.Throws<LayerExportException>(() => layer.CreateReader(CancellationToken.None));

        Assert.Equal("(layer root)", error.Path);
        Assert.Equal("UtilityVM is a symbolic link; refused", error.Reason);
        Assert.IsType<InvalidDataException>(error.InnerException);
    }

    [Theory]
    [InlineData("a regular file")]
    [InlineData("a directory without Files")]
    public void AUtilityVmOfABaseLayerWithoutFilesIsNotExported(string utilityVm)
    {
        // hcsshim's base-layer reader walks UtilityVM only when UtilityVM/Files exists.
        if (utilityVm == "a regular file")
        {
            _store.Write(Base + "/UtilityVM", "not a directory"u8.ToArray());
        }
        else
        {
            _store.Encoded(Base + "/UtilityVM.$wcidirs$", DirectoryAttribute, [], Time, Time);
            _store.Write(Base + "/UtilityVM/SystemTemplate.vhdx", "not exported"u8.ToArray());
        }

        Assert.Equal(["Files"], Names(Base));
    }

    [Theory]
    [InlineData("back\\slash")]
    [InlineData("co:lon")]
    [InlineData(":stream")]
    public void ANameThatNoWindowsFileCanHaveIsRefused(string name)
    {
        // A ':' would read as an alternate data stream of another file, a '\' as a path separator.
        _store.Encoded(Layer + "/Files/" + name, ArchiveAttribute, new BackupStreamBuilder().DataStream("x"u8.ToArray()).ToArray(), Time, Time);

        var error = ReadFails(Layer);

        Assert.Equal("Files/" + name, error.Path);
        Assert.Equal("a Windows file name cannot hold '\\' or ':'", error.Reason);
    }

    [Fact]
    public void ADirectoryNamedLikeATwinIsNotExportedButWhatItHoldsIs()
    {
        // As Go's walk, which skips the name but not the directory.
        Directory.CreateDirectory(_store.Path(Layer, "Files", "odd.$wcidirs$"));
        _store.Encoded(Layer + "/Files/odd.$wcidirs$/inner.txt", ArchiveAttribute, new BackupStreamBuilder().DataStream("x"u8.ToArray()).ToArray(), Time, Time);

        Assert.Equal(["Files", "Files/odd.$wcidirs$/inner.txt", "Hives", "Hives/System_Delta"], Names(Layer));
    }

    [Fact]
    public void OnlyTheRecycleBinDirectoryRightBelowFilesIsLeftOut()
    {
        var data = new BackupStreamBuilder().DataStream("x"u8.ToArray()).ToArray();
        _store.EncodedDirectory(Layer + "/Files/$recycle.bin", DirectoryAttribute, [], Time, Time);
        _store.Encoded(Layer + "/Files/$recycle.bin/deleted.txt", ArchiveAttribute, data, Time, Time);
        _store.Encoded(Layer + "/Files/$Recycle.Bin", ArchiveAttribute, data, Time, Time);
        _store.EncodedDirectory(Layer + "/Files/sub", DirectoryAttribute, [], Time, Time);
        _store.EncodedDirectory(Layer + "/Files/sub/$Recycle.Bin", DirectoryAttribute, [], Time, Time);
        _store.Encoded(Layer + "/Files/sub/$Recycle.Bin/kept.txt", ArchiveAttribute, data, Time, Time);

        Assert.Equal(
            ["Files", "Files/$Recycle.Bin", "Files/sub", "Files/sub/$Recycle.Bin", "Files/sub/$Recycle.Bin/kept.txt", "Hives", "Hives/System_Delta"],
            Names(Layer));
    }

    [Fact]
    public void ACancelledWalkStopsAtTheNextChild()
    {
        _store.Encoded(Layer + "/Files/a.txt", ArchiveAttribute, new BackupStreamBuilder().DataStream("x"u8.ToArray()).ToArray(), Time, Time);
        using var store = _store.Open();
        using var layer = store.Open(LayerId.Parse(Layer));
        using var cancellation = new CancellationTokenSource();
        using var reader = layer.CreateReader(cancellation.Token);
        Assert.True(reader.TryRead(out var first));
        first.Dispose();

        cancellation.Cancel();

        Assert.Throws<OperationCanceledException>(() => reader.TryRead(out _));
    }

    [Fact]
    public void ADirectoryReplacedBetweenItsStatusAndItsOpenStopsTheExport()
    {
        // Another directory renamed over it would otherwise be exported under the listed directory's metadata.
        _store.EncodedDirectory(Layer + "/Files/dir", DirectoryAttribute, [], Time, Time);
        Directory.CreateDirectory(_store.Path("elsewhere"));
        _store.Write("elsewhere/secret.txt", "outside the layer"u8.ToArray());
        var error = Race(Layer, "dir", () => Posix.Rename(_store.Path("elsewhere"), Encoding.UTF8.GetBytes(_store.Path(Layer, "Files", "dir"))));

        Assert.Equal("Files/dir", error.Path);
        Assert.Equal("directory was replaced while being read", Assert.IsType<LayerChangedException>(error.InnerException).Message);
    }

    [Theory]
    [InlineData("Files/a.txt")]
    [InlineData("Hives/Software_Delta")]
    public void AFileReplacedBetweenItsStatusAndItsOpenIsNotExported(string path)
    {
        // A hard link to a file outside the layer renamed over the name must not be read as the listed file.
        var full = Layer + "/" + path;
        if (path.StartsWith("Files/", StringComparison.Ordinal))
        {
            _store.Encoded(full, ArchiveAttribute, new BackupStreamBuilder().DataStream("x"u8.ToArray()).ToArray(), Time, Time);
        }
        else
        {
            _store.Write(full, "regf"u8.ToArray());
        }

        _store.Write("secret", [0x20, 0, 0, 0, .. new BackupStreamBuilder().DataStream("outside the layer"u8.ToArray()).ToArray()]);
        Posix.HardLink(_store.Path("secret"), _store.Path("swap"));

        var error = Race(Layer, Path.GetFileName(path), () => File.Move(_store.Path("swap"), _store.Path(full), overwrite: true));

        Assert.Equal(path, error.Path);
        Assert.Equal("file was replaced while being read", Assert.IsType<LayerChangedException>(error.InnerException).Message);
    }

    [Theory]
    [InlineData("a named pipe")]
    [InlineData("a socket")]
    [InlineData("a character device")]
    [InlineData("a block device")]
    public void AnythingButAFileOrDirectoryIsRefusedByItsKind(string kind)
    {
        var path = _store.Path(Layer, "Files", "node");
        switch (kind)
        {
            case "a named pipe":
                Posix.MakeFifo(path);
                break;
            case "a socket":
                Posix.MakeNode(path, Posix.SocketType, 0, 0);
                break;
            case "a character device":
                Posix.MakeNode(path, Posix.CharacterDeviceType, 1, 3);
                break;
            default:
                Posix.MakeNode(path, Posix.BlockDeviceType, 7, 0);
                break;
        }

        var error = ReadFails(Layer);

        Assert.Equal("Files/node", error.Path);
        Assert.Equal($"is {kind}; a Windows layer directory holds only files and directories", error.Reason);
    }

    [Fact]
    public void ADirectoryWhoseTwinIsNoRegularFileIsRefused()
    {
        Directory.CreateDirectory(_store.Path(Layer, "Files", "dir"));
        Directory.CreateDirectory(_store.Path(Layer, "Files", "dir.$wcidirs$"));

        var error = ReadFails(Layer);

        Assert.Equal("Files/dir", error.Path);
        Assert.Equal("dir.$wcidirs$ is not a regular file", error.Reason);
    }

    // The twin is never listed, so it is looked at before it is opened: a FIFO's waiting writer is not woken (nor a
    // device's driver run), as the walk never opens a special file it listed.
    [Fact]
    public void ADirectoryWhoseTwinIsAFifoIsRefusedWithoutOpeningIt()
    {
        Directory.CreateDirectory(_store.Path(Layer, "Files", "dir"));
        using var writer = WaitingFifoWriter.Start(_store.Path(Layer, "Files", "dir.$wcidirs$"));

        var error = ReadFails(Layer);

        Assert.Equal("Files/dir", error.Path);
        Assert.Equal("dir.$wcidirs$ is not a regular file", error.Reason);
        Assert.True(writer.IsWaiting, "the FIFO was opened");
    }

    // A bind mount (here from the same file system) anywhere in a layer puts what is not the layer's under its names:
    // refused like any mount point, plain parts of a transport layer (UtilityVM, Hives) included.
    [Fact]
    public async Task AMountPointInTheLayerFailsTheExport()
    {
        using var outside = new TempDirectory();
        await File.WriteAllTextAsync(outside.Combine("secret.txt"), "not the layer's");
        _store.PlainDirectory(Layer + "/UtilityVM", Time);
        _store.PlainDirectory(Layer + "/UtilityVM/mnt", Time);
        await ExternalTool.RunCheckedAsync("mount", "--bind", outside.Path, _store.Path(Layer, "UtilityVM", "mnt"));
        try
        {
            var error = ReadFails(Layer);

            Assert.Equal("UtilityVM/mnt", error.Path);
            Assert.Contains("it is a mount point", error.Reason, StringComparison.Ordinal);
        }
        finally
        {
            await ExternalTool.RunCheckedAsync("umount", _store.Path(Layer, "UtilityVM", "mnt"));
        }
    }

    [Fact]
    public void AReparsePointThatAlsoHoldsDataIsRefused()
    {
        // A symbolic link's tar header carries no data, so the bytes would have nowhere to go.
        var stream = new BackupStreamBuilder().Symlink("target.txt", relative: true).DataStream("abc"u8.ToArray()).ToArray();
        _store.Encoded(Layer + "/Files/link.txt", ArchiveAttribute | ReparsePointAttribute, stream, Time, Time);

        var error = ReadFails(Layer);

        Assert.Equal("Files/link.txt", error.Path);
        Assert.Equal("3 bytes of data for an entry of tar type '2', which carries none", error.Reason);
    }

    [Fact]
    public void LaterNamesOfAPlainFileAreHardLinksToTheFirst()
    {
        _store.Write(Layer + "/UtilityVM/Files/one.dll", "MZ"u8.ToArray());
        Posix.HardLink(_store.Path(Layer, "UtilityVM", "Files", "one.dll"), _store.Path(Layer, "UtilityVM", "Files", "two.dll"));

        var entries = Headers(Layer);

        Assert.Equal((TarEntryType.RegularFile, 2L), (entries["UtilityVM/Files/one.dll"].Type, entries["UtilityVM/Files/one.dll"].Size));
        var link = entries["UtilityVM/Files/two.dll"];
        Assert.Equal((TarEntryType.HardLink, "UtilityVM/Files/one.dll", 0x1a4L, 0L), (link.Type, Encoding.UTF8.GetString(link.LinkName), link.Mode, link.Size));
    }

    [Theory]
    [InlineData("deleted")]
    [InlineData("a directory")]
    public void ASystemDeltaGoneSinceTheLayerWasOpenedFailsFilesWhoseTimesItGives(string change)
    {
        using var store = _store.Open();
        using var layer = store.Open(LayerId.Parse(Layer));
        File.Delete(_store.Path(Layer, "Hives", "System_Delta"));
        if (change == "a directory")
        {
            Directory.CreateDirectory(_store.Path(Layer, "Hives", "System_Delta"));
        }

        using var reader = layer.CreateReader(CancellationToken.None);
        var error = Assert.Throws<LayerExportException>(() => reader.TryRead(out _));

        Assert.Equal("Files", error.Path);
        Assert.Equal(
            change == "deleted" ? "Hives/System_Delta is missing; Files and Hives take their times from it" : "Hives/System_Delta is not a regular file",
            error.Reason);
    }

    [Fact]
    public void FilesAndHivesShareTheTimeSystemDeltaHadWhenFilesWasRead()
    {
        _store.Plain(Layer + "/Hives/System_Delta", "regf"u8.ToArray(), Ticks(1_700_000_000, 5));
        using var store = _store.Open();
        using var layer = store.Open(LayerId.Parse(Layer));
        using var reader = layer.CreateReader(CancellationToken.None);
        Assert.True(reader.TryRead(out var files));
        files.Dispose();

        File.Delete(_store.Path(Layer, "Hives", "System_Delta"));
        Assert.True(reader.TryRead(out var hives));
        hives.Dispose();

        Assert.Equal(("Files", "Hives"), (files.DisplayPath, hives.DisplayPath));
        Assert.Equal((1_700_000_000L, 500L), (hives.Header.ModificationTime, hives.Header.ModificationTimeNanoseconds));
        Assert.Equal(files.Header.ModificationTime, hives.Header.ModificationTime);
    }

    [Fact]
    public void AReaderDisposedMidWalkLeavesNoDescriptorOpen()
    {
        // The alternate stream still queued shares the file's descriptor; the directories entered are open too.
        _store.EncodedDirectory(Layer + "/Files/dir", DirectoryAttribute, [], Time, Time);
        var stream = new BackupStreamBuilder().DataStream("x"u8.ToArray()).AlternateStream("s", "y"u8.ToArray()).ToArray();
        _store.Encoded(Layer + "/Files/dir/a.txt", ArchiveAttribute, stream, Time, Time);
        using var store = _store.Open();
        using (var layer = store.Open(LayerId.Parse(Layer)))
        {
            using var reader = layer.CreateReader(CancellationToken.None);
            LayerEntry? entry;
            do
            {
                Assert.True(reader.TryRead(out entry));
                entry.Dispose();
            }
            while (entry.DisplayPath != "Files/dir/a.txt");
        }

        Assert.Equal([_store.Root], OpenFileDescriptors.Under(_store.Root));
    }

    [Fact]
    public void AFinishedWalkLeavesNoDescriptorOpen()
    {
        _store.EncodedDirectory(Layer + "/Files/dir", DirectoryAttribute, [], Time, Time);
        _store.Encoded(Layer + "/Files/dir/a.txt", ArchiveAttribute, new BackupStreamBuilder().DataStream("x"u8.ToArray()).ToArray(), Time, Time);
        using var store = _store.Open();
        using var layer = store.Open(LayerId.Parse(Layer));
        using var reader = layer.CreateReader(CancellationToken.None);
        while (reader.TryRead(out var entry))
        {
            entry.Dispose();
        }

        Assert.Equal([_store.Root, _store.Path(Layer)], OpenFileDescriptors.Under(_store.Root));
    }

    [Fact]
    public void ADirectoryWhoseTwinIsASymbolicLinkIsRefusedNotFollowed()
    {
        Directory.CreateDirectory(_store.Path(Layer, "Files", "dir"));
        _store.Write("elsewhere.$wcidirs$", [0x10, 0, 0, 0]);
        File.CreateSymbolicLink(_store.Path(Layer, "Files", "dir.$wcidirs$"), _store.Path("elsewhere.$wcidirs$"));

        var error = ReadFails(Layer);

        Assert.Equal("Files/dir", error.Path);
        Assert.Equal("dir.$wcidirs$ is not a regular file", error.Reason);
    }

    [Theory]
    [InlineData("Files/dir/a.txt")]
    [InlineData("Hives/Software_Delta")]
    public void AFileReplacedByOneOfTheSameSizeAndTimesChangesTheFingerprint(string path)
    {
        // Only the file's identity tells the two apart: an unchanged fingerprint would serve the old digest. Files/dir
        // takes its identity from its twin, which the rename leaves alone.
        _store.EncodedDirectory(Layer + "/Files/dir", DirectoryAttribute, [], Time, Time);
        var full = Layer + "/" + path;
        byte[] Bytes(string data) => path.StartsWith("Files/", StringComparison.Ordinal)
            ? [0x20, 0, 0, 0, .. new BackupStreamBuilder().DataStream(Encoding.ASCII.GetBytes(data)).ToArray()]
            : Encoding.ASCII.GetBytes(data);
        _store.Write(full, Bytes("before"));
        _store.Write("swap", Bytes("after!"));
        Posix.SetTimes(_store.Path(full), 1_650_000_000, 100, 1_650_000_000, 100);
        Posix.SetTimes(_store.Path("swap"), 1_650_000_000, 100, 1_650_000_000, 100);
        using var store = _store.Open();
        var before = Survey(store);

        File.Move(_store.Path("swap"), _store.Path(full), overwrite: true);

        Assert.NotEqual(before.Fingerprint, Survey(store).Fingerprint);
        Assert.Equal(before.TarSize, Survey(store).TarSize);
    }

    // Written to once opened (data rewritten in place, or bytes appended to a hive), the file no longer holds what its
    // header was made from; reads alone cannot tell, since the content ends where the header says.
    [Theory]
    [InlineData("Files/a.txt", "before")]
    [InlineData("Hives/Software_Delta", "before")]
    [InlineData("Hives/Software_Delta", "")]
    public async Task AFileWrittenToAfterItWasOpenedFailsItsEntryAsChanged(string path, string before)
    {
        var full = Layer + "/" + path;
        var encoded = path.StartsWith("Files/", StringComparison.Ordinal);
        if (encoded)
        {
            _store.Encoded(full, ArchiveAttribute, new BackupStreamBuilder().DataStream(Encoding.ASCII.GetBytes(before)).ToArray(), Time, Time);
        }
        else
        {
            _store.Plain(full, Encoding.ASCII.GetBytes(before), Time);
        }

        using var store = _store.Open();
        using var layer = store.Open(LayerId.Parse(Layer));
        using var reader = layer.CreateReader(CancellationToken.None);
        LayerEntry? entry;
        while (reader.TryRead(out entry) && entry.DisplayPath != path)
        {
            entry.Dispose();
        }

        using (entry)
        {
            using (var file = new FileStream(_store.Path(full), FileMode.Open, FileAccess.Write))
            {
                file.Seek(encoded ? -before.Length : 0, SeekOrigin.End);
                file.Write(encoded ? "after!"u8 : "and after"u8);
            }

            var error = await Record.ExceptionAsync(async () => await new TarStreamWriter(new System.IO.Pipelines.Pipe().Writer).WriteEntryAsync(entry!, CancellationToken.None));

            Assert.IsType<LayerChangedException>(error);
        }
    }

    // The walk runs on a thread of its own; the first open of `name` waits for `replace` to run.
    private LayerExportException Race(string id, string name, Action replace)
    {
        using var store = _store.Open();

        // A first walk loads what the walk needs, so the raced one opens nothing for the runtime while it waits.
        ReadAll(store, id);
        var replaced = false;
        var error = Record.Exception(() => SyscallRace.AtOpen(
            () => ReadAll(store, id),
            opened =>
            {
                if (opened == name && !replaced)
                {
                    replaced = true;
                    replace();
                }
            }));

        Assert.True(replaced);
        Assert.Equal([_store.Root], OpenFileDescriptors.Under(_store.Root));
        return Assert.IsType<LayerExportException>(error);
    }

    private static LayerSurvey Survey(WindowsLayerStore store)
    {
        using var export = new LayerExporter(store).Prepare(Layer, []);
        return export.Survey(CancellationToken.None);
    }

    private LayerExportException ReadFails(string id)
    {
        using var store = _store.Open();
        return Assert.Throws<LayerExportException>(() => ReadAll(store, id));
    }

    private List<string> Names(string id)
    {
        using var store = _store.Open();
        return ReadAll(store, id);
    }

    private Dictionary<string, TarEntryHeader> Headers(string id)
    {
        using var store = _store.Open();
        using var layer = store.Open(LayerId.Parse(id));
        using var reader = layer.CreateReader(CancellationToken.None);
        var headers = new Dictionary<string, TarEntryHeader>(StringComparer.Ordinal);
        while (reader.TryRead(out var entry))
        {
            using (entry)
            {
                headers.Add(entry.DisplayPath, entry.Header);
            }
        }

        return headers;
    }

    private static List<string> ReadAll(WindowsLayerStore store, string id)
    {
        using var layer = store.Open(LayerId.Parse(id));
        using var reader = layer.CreateReader(CancellationToken.None);
        var names = new List<string>();
        while (reader.TryRead(out var entry))
        {
            using (entry)
            {
                names.Add(entry.DisplayPath);
            }
        }

        return names;
    }
}
