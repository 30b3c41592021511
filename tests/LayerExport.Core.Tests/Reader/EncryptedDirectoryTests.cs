using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Reader;

/// <summary>A directory fscrypt encrypts is exported under its names with its key loaded, and refused without it: never exported under its encoded names.</summary>
[Collection(SerialTests.Name)]
public sealed class EncryptedDirectoryTests : IAsyncLifetime
{
    private const string KeyNotLoaded = "Required key not available: the directory is encrypted (fscrypt) and its key is not loaded";

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

    [Fact]
    public async Task WithItsKeyLoadedAnEncryptedDirectoryIsExportedUnderItsNames()
    {
        BuildLayer("loaded", "secret");

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

    // A native layer whose directory <encrypted> (under diff/, or diff/ itself when empty) holds a file, a symlink to
    // it and a subdirectory, encrypted with the test's key; a plain file beside it.
    private void BuildLayer(string id, string encrypted, bool withFile = true)
    {
        FscryptKeys.Add(_fileSystem!.MountPoint);
        var diff = Path.Combine(Store, id, "diff");
        Directory.CreateDirectory(diff);
        File.WriteAllText(Path.Combine(Store, id, "layer.json"), "{}");
        var directory = Directory.CreateDirectory(Path.Combine(diff, encrypted)).FullName;
        FscryptKeys.Encrypt(directory, _key);
        Directory.CreateDirectory(Path.Combine(directory, "sub"));
        File.CreateSymbolicLink(Path.Combine(directory, "link"), "file.txt");
        if (withFile)
        {
            File.WriteAllText(Path.Combine(directory, "file.txt"), "secret\n");
        }
    }

    private LayerSurvey Survey(string id)
    {
        using var layers = new NativeLayerStore(Store);
        using var export = new LayerExporter(layers).Prepare(id, []);
        return export.Survey(CancellationToken.None);
    }
}
