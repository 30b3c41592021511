using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>A store root's identity tells the directory it was opened on from one moved to its path later.</summary>
public sealed class StoreRootIdentityTests : IDisposable
{
    private readonly TempDirectory _temp = new();

    public void Dispose() => _temp.Dispose();

    // The readiness check compares the root's identity now with the one at start-up: a replaced root must differ, or
    // the server would go on serving the directory it holds open as if it were the one configured.
    [Fact]
    public void ADirectoryMovedToTheRootPathHasAnotherIdentity()
    {
        var root = _temp.Combine("root");
        Directory.CreateDirectory(root);
        var opened = StoreRootIdentity.Of(root);
        Assert.Equal(opened, StoreRootIdentity.Of(root));

        Directory.Move(root, _temp.Combine("old"));
        Directory.CreateDirectory(_temp.Combine("new"));
        Directory.Move(_temp.Combine("new"), root);

        Assert.NotEqual(opened, StoreRootIdentity.Of(root));
        Assert.Equal(opened, StoreRootIdentity.Of(_temp.Combine("old")));
    }

    [Fact]
    public void ARootThatIsNoDirectoryIsAnIOError()
    {
        File.WriteAllText(_temp.Combine("file"), "");

        Assert.ThrowsAny<IOException>(() => StoreRootIdentity.Of(_temp.Combine("missing")));
        Assert.ThrowsAny<IOException>(() => StoreRootIdentity.Of(_temp.Combine("file")));
    }
}
