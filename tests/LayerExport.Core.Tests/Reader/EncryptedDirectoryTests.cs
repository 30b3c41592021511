using LayerExport.Core.Export;
using LayerExport.Core.Native;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;
using LayerExport.Core.Tests.Windows;

namespace LayerExport.Core.Tests.Reader;

/// <summary>A directory fscrypt encrypts is exported under its names with its key loaded, and refused without it: never exported under its encoded names.</summary>
[Collection(SerialTests.Name)]
public sealed class EncryptedDirectoryTests : IAsyncLifetime
{
    private const string KeyNotLoaded = "Required key not available: the directory is encrypted (fscrypt) and its key is not loaded";
    private const string WindowsLayer = "t";
    private const uint KeyAbsent = 1;

    // A v1 policy's key, named by an 8-byte descriptor of the caller's choosing.
    private static readonly byte[] V1Descriptor = [0x4c, 0x61, 0x79, 0x65, 0x72, 0x45, 0x78, 0x70];

    private ScratchFileSystem? _fileSystem;
    private byte[] _key = [];

    private string Store => Path.Combine(_fileSystem!.MountPoint, "store");

    public async Task InitializeAsync()
    {
        _fileSystem = await ScratchFileSystem.MountAsync(ScratchFileSystem.EncryptingExt4);
        _key = FscryptKeys.Add(_fileSystem.MountPoint);
    }

    public async Task DisposeAsync()
    {
        if (_fileSystem is not null)
        {
            await _fileSystem.DisposeAsync();
        }
    }

    [Theory]
    [InlineData(2)]
    [InlineData(1)]
    public async Task WithItsKeyLoadedAnEncryptedDirectoryIsExportedUnderItsNames(int policyVersion)
    {
        BuildLayer("loaded", "secret", policyVersion == 1 ? V1Descriptor : null);

        var archive = Path.Combine(_fileSystem!.MountPoint, "loaded.tar");
        await TarExport.ToFileAsync(Store, "loaded", archive, CancellationToken.None);

        Assert.Equal(["secret/", "secret/file.txt", "secret/link", "secret/sub/"], await GnuTar.ListNamesAsync(archive));
    }

    [Fact]
    public async Task ADirectoryWithoutItsKeyIsRefusedRatherThanExportedUnderEncodedNames()
    {
        // Only a directory and a symlink: no file whose open would fail, so the walk alone must tell.
        BuildLayer("names", "secret", withFile: false);
        FscryptKeys.Remove(_fileSystem!.MountPoint, _key);
        Assert.DoesNotContain("sub", Directory.GetFileSystemEntries(Path.Combine(Store, "names", "diff", "secret")).Select(Path.GetFileName));

        var surveyed = Assert.Throws<LayerExportException>(() => Survey("names"));
        var exported = await Assert.ThrowsAsync<LayerExportException>(() => TarExport.ToBytesAsync(Store, "names", CancellationToken.None));

        Assert.Equal(("secret", KeyNotLoaded), (surveyed.Path, surveyed.Reason));
        Assert.Equal(("secret", KeyNotLoaded), (exported.Path, exported.Reason));
    }

    [Fact]
    public void AStoreRootWithoutItsKeyIsUnavailableRatherThanListedUnderEncodedNames()
    {
        // Encoded names pass for layer IDs: listed, they would be rows of layers no one stored.
        using var layers = new NativeLayerStore(BuildEncryptedStore());

        var refused = Assert.Throws<LayerStoreUnavailableException>(() => layers.List());

        Assert.Equal($"The layer store cannot be listed: the root directory: {KeyNotLoaded}.", refused.Message);
    }

    [Fact]
    public void ALayerLookedUpInAStoreRootWithoutItsKeyIsUnavailableRatherThanNotFound()
    {
        // The layer is there, under a name only the key tells: "not found" would be false.
        using var layers = new NativeLayerStore(BuildEncryptedStore());

        var refused = Assert.Throws<LayerStoreUnavailableException>(() => layers.Describe(LayerId.Parse("app")));

        Assert.Equal($"The layer store cannot be read: the root directory: {KeyNotLoaded}.", refused.Message);
    }

    [Fact]
    public void ALayerDirectoryWithoutItsKeyIsRefusedForTheKeyRatherThanNotFound()
    {
        var layer = Directory.CreateDirectory(Path.Combine(Store, "app")).FullName;
        FscryptKeys.Encrypt(layer, _key);
        Directory.CreateDirectory(Path.Combine(layer, "diff"));
        File.WriteAllText(Path.Combine(layer, "layer.json"), "{}");
        FscryptKeys.Remove(_fileSystem!.MountPoint, _key);
        using var layers = new NativeLayerStore(Store);

        var refused = Assert.Throws<LayerStoreCorruptException>(() => layers.Describe(LayerId.Parse("app")));

        Assert.Equal($"Layer 'app': layer.json cannot be opened ({KeyNotLoaded}).", refused.Message);
        Assert.True(Assert.IsType<NativeIOException>(refused.InnerException).IsKeyNotLoaded);
    }

    [Fact]
    public void AWindowsLayerDirectoryWithoutItsKeyIsRefusedForTheKeyRatherThanNotFound()
    {
        // The store tells a layer by its Files, which the layer directory shows only under an encoded name.
        using var windows = BuildWindowsLayer("");
        FscryptKeys.Remove(_fileSystem!.MountPoint, _key);
        using var layers = windows.Open();

        var refused = Assert.Throws<LayerStoreCorruptException>(() => layers.Describe(LayerId.Parse(WindowsLayer)));

        Assert.Equal($"Layer '{WindowsLayer}': Files cannot be looked up ({KeyNotLoaded}).", refused.Message);
        Assert.True(Assert.IsType<NativeIOException>(refused.InnerException).IsKeyNotLoaded);
    }

    [Theory]
    [InlineData("open a file")]
    [InlineData("open a directory")]
    [InlineData("try to open a directory")]
    [InlineData("read a status")]
    [InlineData("read a link")]
    public void ANameLookedUpWithoutItsDirectorysKeyIsRefusedForTheKeyNotReportedMissing(string lookup)
    {
        BuildLayer("lookups", "secret");
        FscryptKeys.Remove(_fileSystem!.MountPoint, _key);
        using var directory = FileDescriptor.OpenDirectory(Path.Combine(Store, "lookups", "diff", "secret"));

        var refused = Assert.Throws<NativeIOException>(() => LookUp(directory, lookup));

        Assert.Equal((Libc.ENOKEY, KeyNotLoaded), (refused.Errno, refused.Reason));
    }

    [Theory]
    [InlineData("open a file")]
    [InlineData("open a directory")]
    [InlineData("read a status")]
    [InlineData("read a link")]
    public void ANameMissingFromAnEncryptedDirectoryWithItsKeyIsMissing(string lookup)
    {
        BuildLayer("loaded", "secret");
        using var directory = FileDescriptor.OpenDirectory(Path.Combine(Store, "loaded", "diff", "secret"));
        File.Delete(Path.Combine(Store, "loaded", "diff", "secret", "file.txt"));
        File.Delete(Path.Combine(Store, "loaded", "diff", "secret", "link"));
        Directory.Delete(Path.Combine(Store, "loaded", "diff", "secret", "sub"));

        var missing = Assert.Throws<NativeIOException>(() => LookUp(directory, lookup));

        Assert.True(missing.IsNotFound);
        Assert.False(directory.TryOpenDirectoryAt("sub"u8, out _));
    }

    [Fact]
    public void AFileInADirectoryWithoutItsKeyIsFoundByTheSurveyNotWhereTheExportOpensIt()
    {
        BuildLayer("files", "secret");
        FscryptKeys.Remove(_fileSystem!.MountPoint, _key);

        var surveyed = Assert.Throws<LayerExportException>(() => Survey("files"));

        Assert.Equal(("secret", KeyNotLoaded), (surveyed.Path, surveyed.Reason));
    }

    [Fact]
    public void AnEncryptedLayerRootWithoutItsKeyIsRefused()
    {
        BuildLayer("root", "");
        FscryptKeys.Remove(_fileSystem!.MountPoint, _key);

        var surveyed = Assert.Throws<LayerExportException>(() => Survey("root"));

        Assert.Equal(("(layer root)", KeyNotLoaded), (surveyed.Path, surveyed.Reason));
    }

    [Theory]
    [InlineData("data", "data")]
    [InlineData("", "(layer root)")]
    public void AParentTreeWithoutItsKeyIsRefusedRatherThanComparedUnderEncodedNames(string encrypted, string refused)
    {
        // A snapshots store: the child's tree, a plain copy of its parent's, would be compared with encoded names
        // and come out as whiteouts of them beside every name added again.
        var store = Path.Combine(_fileSystem!.MountPoint, $"snapshots-{encrypted.Length}");
        var parent = Path.Combine(store, "base", "fs");
        var child = Path.Combine(store, "child", "fs");
        FscryptKeys.Add(_fileSystem.MountPoint);
        Directory.CreateDirectory(parent);
        File.WriteAllText(Path.Combine(store, "base", "layer.json"), "{}");
        var directory = Directory.CreateDirectory(Path.Combine(parent, encrypted)).FullName;
        FscryptKeys.Encrypt(directory, _key);
        Directory.CreateDirectory(Path.Combine(parent, "data"));
        File.WriteAllText(Path.Combine(parent, "data", "file.txt"), "kept\n");
        Directory.CreateDirectory(Path.Combine(child, "data"));
        File.WriteAllText(Path.Combine(child, "data", "file.txt"), "kept\n");
        File.WriteAllText(Path.Combine(store, "child", "layer.json"), """{"parent": "base"}""");
        FscryptKeys.Remove(_fileSystem.MountPoint, _key);

        using var layers = new SnapshotLayerStore(store);
        using var export = new LayerExporter(layers).Prepare("child", ["base"]);
        var surveyed = Assert.Throws<LayerExportException>(() => export.Survey(CancellationToken.None));

        Assert.Equal((refused, KeyNotLoaded), (surveyed.Path, surveyed.Reason));
    }

    [Fact]
    public async Task AWindowsLayerDirectoryWithoutItsKeyIsRefusedRatherThanReadUnderEncodedNames()
    {
        // A transport layer's UtilityVM is stored plain: a directory of directories there opens no file to fail.
        using var windows = BuildWindowsLayer("UtilityVM/Files/secret");
        FscryptKeys.Remove(_fileSystem!.MountPoint, _key);
        using var layers = windows.Open();
        using var export = new LayerExporter(layers).Prepare(WindowsLayer, []);

        var surveyed = Assert.Throws<LayerExportException>(() => export.Survey(CancellationToken.None));
        var exported = await Assert.ThrowsAsync<LayerExportException>(() => TarExport.ToBytesAsync(layers, WindowsLayer, CancellationToken.None));

        Assert.Equal(("UtilityVM/Files/secret", KeyNotLoaded), (surveyed.Path, surveyed.Reason));
        Assert.Equal(("UtilityVM/Files/secret", KeyNotLoaded), (exported.Path, exported.Reason));
    }

    [Fact]
    public void AWindowsLayerRootWhoseKeyIsRemovedOnceItIsOpenIsRefused()
    {
        // The store finds a layer by its Files, which an encrypted layer directory without its key does not show; so
        // the key goes once the layer is open, and the open directory leaves it being removed, its own names still
        // readable while those of the directories below are not: asked of the root, the cause is what is reported.
        using var windows = BuildWindowsLayer("");
        using var layers = windows.Open();
        using var export = new LayerExporter(layers).Prepare(WindowsLayer, []);
        FscryptKeys.Remove(_fileSystem!.MountPoint, _key, filesInUse: true);

        var surveyed = Assert.Throws<LayerExportException>(() => export.Survey(CancellationToken.None));

        Assert.Equal(("(layer root)", KeyNotLoaded), (surveyed.Path, surveyed.Reason));
    }

    [Fact]
    public void ABaseWindowsLayerWhoseUtilityVmHasNoKeyIsRefusedRatherThanExportedWithoutIt()
    {
        // A base layer exports UtilityVM only when UtilityVM/Files is found: without the key, Files is not found there.
        using var windows = new WindowsTestStore(_fileSystem!.MountPoint);
        windows.AddLayer("base");
        windows.Encoded("base/Files.$wcidirs$", WindowsTestStore.DirectoryAttribute, [], WindowsTestStore.Ticks(1), WindowsTestStore.Ticks(1));
        windows.Encoded("base/UtilityVM.$wcidirs$", WindowsTestStore.DirectoryAttribute, [], WindowsTestStore.Ticks(1), WindowsTestStore.Ticks(1));
        var utilityVm = Directory.CreateDirectory(windows.Path("base", "UtilityVM")).FullName;
        FscryptKeys.Encrypt(utilityVm, _key);
        Directory.CreateDirectory(Path.Combine(utilityVm, "Files", "sub"));
        FscryptKeys.Remove(_fileSystem.MountPoint, _key);
        using var layers = windows.Open();
        using var export = new LayerExporter(layers).Prepare("base", []);

        var surveyed = Assert.Throws<LayerExportException>(() => export.Survey(CancellationToken.None));

        Assert.Equal(("UtilityVM", KeyNotLoaded), (surveyed.Path, surveyed.Reason));
    }

    [Fact]
    public async Task AV1DirectoryWithoutItsKeyIsLeftToItsFilesOpenWhichFailsNamingTheFile()
    {
        // The kernel cannot say a v1 key is absent (a process keyring may hold it), so the walk goes on and the
        // file's own open refuses: the survey passes, the body fails where it opens the file.
        BuildLayer("v1", "secret", V1Descriptor);
        FscryptKeys.Remove(_fileSystem!.MountPoint, V1Descriptor);
        var file = new DirectoryInfo(Path.Combine(Store, "v1", "diff", "secret")).GetFiles().Single(static f => f.LinkTarget is null).Name;

        _ = Survey("v1");
        var exported = await Assert.ThrowsAsync<LayerExportException>(() => TarExport.ToBytesAsync(Store, "v1", CancellationToken.None));

        Assert.Equal(("secret/" + file, "Required key not available"), (exported.Path, exported.Reason));
    }

    [Fact]
    public void AV1DirectoryWhoseKeyOnlyAProcessKeyringHoldsIsReadUnderItsNames()
    {
        // Why a v1 key's status is not trusted: the file system's keyring says absent, yet the names and the file read.
        BuildLayer("legacy", "secret", V1Descriptor);
        FscryptKeys.Remove(_fileSystem!.MountPoint, V1Descriptor);

        // The key is this thread's alone, so the walk is read here, synchronously.
        using var key = FscryptKeys.AddToThreadKeyring(V1Descriptor);
        Assert.Equal(KeyAbsent, FscryptKeys.Status(_fileSystem.MountPoint, V1Descriptor));
        using var layers = new NativeLayerStore(Store);
        using var content = layers.Open(LayerId.Parse("legacy"));
        using var reader = content.CreateReader(CancellationToken.None);
        var names = new List<string>();
        while (reader.TryRead(out var entry))
        {
            using (entry)
            {
                names.Add(entry.DisplayPath);
            }
        }

        Assert.Equal(["secret/", "secret/file.txt", "secret/link", "secret/sub/"], names);
    }

    [Theory]
    [InlineData("not encrypted", true)]
    [InlineData("v2, loaded", true)]
    [InlineData("v2, removed", false)]
    [InlineData("v2, being removed", false)]
    [InlineData("v1, loaded", null)]
    [InlineData("v1, removed", null)]
    public void HasEncryptionKeySaysWhetherAV2KeyIsPresentAndNothingOfAV1Key(string state, bool? expected)
    {
        var path = Directory.CreateDirectory(Path.Combine(_fileSystem!.MountPoint, "directory")).FullName;
        var key = state.StartsWith("v1", StringComparison.Ordinal) ? V1Descriptor : _key;
        if (key == V1Descriptor)
        {
            FscryptKeys.Add(_fileSystem.MountPoint, V1Descriptor);
        }

        if (state != "not encrypted")
        {
            FscryptKeys.Encrypt(path, key);
            Directory.CreateDirectory(Path.Combine(path, "sub"));
        }

        // A directory held open, its key unlocked (by the child made in it), keeps a key being removed from going wholly.
        var beingRemoved = state.EndsWith("being removed", StringComparison.Ordinal);
        var held = beingRemoved ? FileDescriptor.OpenDirectory(path) : null;
        if (state.EndsWith("removed", StringComparison.Ordinal))
        {
            FscryptKeys.Remove(_fileSystem.MountPoint, key, filesInUse: beingRemoved);
        }

        using var directory = held ?? FileDescriptor.OpenDirectory(path);
        Assert.Equal(expected, directory.HasEncryptionKey());
    }

    // A lookup of one of the names BuildLayer makes, by the call <lookup> names.
    private static void LookUp(FileDescriptor directory, string lookup)
    {
        switch (lookup)
        {
            case "open a file":
                directory.OpenFileAt("file.txt"u8).Dispose();
                break;
            case "open a directory":
                directory.OpenDirectoryAt("sub"u8).Dispose();
                break;
            case "try to open a directory":
                directory.TryOpenDirectoryAt("sub"u8, out _);
                break;
            case "read a status":
                directory.StatAt("file.txt"u8);
                break;
            default:
                directory.ReadLinkAt("link"u8);
                break;
        }
    }

    // A native store whose root is encrypted with the test's key, holding the layer "app"; the key removed.
    private string BuildEncryptedStore()
    {
        var root = Directory.CreateDirectory(Path.Combine(_fileSystem!.MountPoint, "encrypted-store")).FullName;
        FscryptKeys.Add(_fileSystem.MountPoint);
        FscryptKeys.Encrypt(root, _key);
        Directory.CreateDirectory(Path.Combine(root, "app", "diff"));
        File.WriteAllText(Path.Combine(root, "app", "layer.json"), "{}");
        FscryptKeys.Remove(_fileSystem.MountPoint, _key);
        return root;
    }

    // A native layer whose directory <encrypted> (under diff/, or diff/ itself when empty) holds a file, a symlink to
    // it and a subdirectory, encrypted with the test's key; a plain file beside it.
    private void BuildLayer(string id, string encrypted, bool withFile = true) => BuildLayer(id, encrypted, null, withFile);

    // The same, encrypted with a v1 policy when <v1Descriptor> is given.
    private void BuildLayer(string id, string encrypted, byte[]? v1Descriptor, bool withFile = true)
    {
        FscryptKeys.Add(_fileSystem!.MountPoint);
        if (v1Descriptor is not null)
        {
            FscryptKeys.Add(_fileSystem.MountPoint, v1Descriptor);
        }

        var diff = Path.Combine(Store, id, "diff");
        Directory.CreateDirectory(diff);
        File.WriteAllText(Path.Combine(Store, id, "layer.json"), "{}");
        var directory = Directory.CreateDirectory(Path.Combine(diff, encrypted)).FullName;
        FscryptKeys.Encrypt(directory, v1Descriptor ?? _key);
        Directory.CreateDirectory(Path.Combine(directory, "sub"));
        File.CreateSymbolicLink(Path.Combine(directory, "link"), "file.txt");
        if (withFile)
        {
            File.WriteAllText(Path.Combine(directory, "file.txt"), "secret\n");
        }
    }

    // A base layer and the transport layer WindowsLayer on it, in a store on the scratch file system, whose directory
    // <encrypted> (the layer's own when empty) is encrypted with the test's key and holds a subdirectory.
    private WindowsTestStore BuildWindowsLayer(string encrypted)
    {
        var windows = new WindowsTestStore(_fileSystem!.MountPoint);
        var directory = Directory.CreateDirectory(windows.Path(WindowsLayer, encrypted)).FullName;
        FscryptKeys.Encrypt(directory, _key);
        Directory.CreateDirectory(Path.Combine(directory, "sub"));
        windows.AddLayer("base");
        windows.AddLayer(WindowsLayer, "base");
        windows.Write(WindowsLayer + "/Hives/System_Delta", "regf"u8.ToArray());
        windows.Tombstones(WindowsLayer, "");
        return windows;
    }

    private LayerSurvey Survey(string id)
    {
        using var layers = new NativeLayerStore(Store);
        using var export = new LayerExporter(layers).Prepare(id, []);
        return export.Survey(CancellationToken.None);
    }
}
