using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>
/// A snapshot layer holds an entry its parent also holds exactly when one exported property differs: each one
/// alone, with the mtime kept as the parent's, is enough to emit the entry, and nothing else is emitted.
/// </summary>
public sealed class SnapshotChangeDetectionTests : IDisposable
{
    private const long Seconds = 1_700_000_000;
    private const long Nanoseconds = 500;

    private readonly TestSnapshotStore _store = new();

    public void Dispose() => _store.Dispose();

    [Theory]
    [InlineData("uid", "file")]
    [InlineData("gid", "file")]
    [InlineData("size", "file")]
    [InlineData("an added xattr", "file")]
    [InlineData("another xattr name", "file")]
    [InlineData("device major", "dev")]
    [InlineData("device minor", "dev")]
    [InlineData("symlink target", "sym")]
    [InlineData("directory mode", "dir/")]
    [InlineData("directory mtime nanoseconds", "dir/")]
    public async Task OnePropertyChangedAloneEmitsTheEntry(string change, string emitted)
    {
        Build(_store.AddLayer("base"));
        var child = await _store.CopyLayerAsync("base", "child");
        Change(child, change);
        // Every mtime back to the parent's, but the one change that is about the mtime.
        child.SetAllTimes(Seconds, Nanoseconds);
        if (change == "directory mtime nanoseconds")
        {
            child.ModificationTime("dir", Seconds, Nanoseconds + 1);
        }

        var names = await GnuTar.ListNamesAsync(await _store.ExportToFileAsync("child"));

        Assert.Equal([emitted], names);
    }

    [Fact]
    public async Task TheControlACopyWithEveryMtimeSetAgainEmitsNothing()
    {
        Build(_store.AddLayer("base"));
        (await _store.CopyLayerAsync("base", "child")).SetAllTimes(Seconds, Nanoseconds);

        Assert.Equal(new byte[1024], await _store.ExportAsync("child"));
    }

    private static void Build(LayerTree tree) =>
        tree.File("file", "aaaa").Owner("file", 1000, 1000).Xattr("file", "user.a", "1")
            .CharacterDevice("dev", 1, 3)
            .Symlink("sym", "aaaa")
            .Directory("dir").File("dir/inside", "inside")
            .SetAllTimes(Seconds, Nanoseconds);

    // The changed entry is made again where a property can only be had that way (a new inode, as a rewrite gives).
    private static void Change(LayerTree child, string change)
    {
        switch (change)
        {
            case "uid":
                child.Owner("file", 2000, 1000);
                break;
            case "gid":
                child.Owner("file", 1000, 2000);
                break;
            case "size":
                File.AppendAllText(child.PathOf("file"), "a");
                break;
            case "an added xattr":
                child.Xattr("file", "user.b", "1");
                break;
            case "another xattr name":
                File.Delete(child.PathOf("file"));
                child.File("file", "aaaa").Owner("file", 1000, 1000).Xattr("file", "user.b", "1");
                break;
            case "device major":
                File.Delete(child.PathOf("dev"));
                child.CharacterDevice("dev", 2, 3);
                break;
            case "device minor":
                File.Delete(child.PathOf("dev"));
                child.CharacterDevice("dev", 1, 4);
                break;
            case "symlink target":
                File.Delete(child.PathOf("sym"));
                child.Symlink("sym", "bbbb");
                break;
            case "directory mode":
                child.Mode("dir", "700");
                break;
            case "directory mtime nanoseconds":
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(change), change, "no such change");
        }
    }
}
