using LayerExport.Core.Native;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Native;

/// <summary>A descriptor's number is never used after the descriptor is disposed: it may name another file by then.</summary>
[Collection(SerialTests.Name)]
public sealed class FileDescriptorLifetimeTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public void ADisposedDirectoryDoesNotLookThroughTheDirectoryThatTookItsNumber()
    {
        var mine = Directory.CreateDirectory(Path.Combine(_root.Path, "mine")).FullName;
        var other = Directory.CreateDirectory(Path.Combine(_root.Path, "other")).FullName;
        File.WriteAllText(Path.Combine(other, "secret"), "not mine");

        var directory = FileDescriptor.OpenDirectory(mine);
        directory.Dispose();

        // The lowest free number is the one just closed: the other directory takes it.
        using var successor = FileDescriptor.OpenDirectory(other);
        Assert.Equal(1u, successor.StatAt("secret"u8).NLink);

        Assert.Throws<ObjectDisposedException>(() => directory.StatAt("secret"u8));
        Assert.Throws<ObjectDisposedException>(() => directory.OpenFileAt("secret"u8));
        Assert.Throws<ObjectDisposedException>(() => directory.ListXattrsAt("secret"u8));
        Assert.Throws<ObjectDisposedException>(() => directory.ReadDirectoryOnce());
    }
}
