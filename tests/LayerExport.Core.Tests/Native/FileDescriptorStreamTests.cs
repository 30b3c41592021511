using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Native;

/// <summary>The stream reads the file forward at an offset of its own, and closes the descriptor only when it owns it.</summary>
public sealed class FileDescriptorStreamTests : IDisposable
{
    private readonly TempDirectory _root = new();
    private readonly FileDescriptor _directory;

    public FileDescriptorStreamTests()
    {
        File.WriteAllText(_root.Combine("file"), "0123456789");
        _directory = FileDescriptor.OpenDirectory(_root.Path);
    }

    public void Dispose()
    {
        _directory.Dispose();
        _root.Dispose();
    }

    [Fact]
    public void ReadsGoOnWhereTheLastOneEnded()
    {
        using var file = _directory.OpenFileAt("file"u8);
        using var stream = new FileDescriptorStream(file, ownsFile: false);
        var buffer = new byte[8];

        Assert.Equal(3, stream.Read(buffer, 2, 3));
        Assert.Equal("\0\0012\0\0\0", Encoding.ASCII.GetString(buffer));
        Assert.Equal(3, stream.Position);
        Assert.Equal(7, stream.Read(buffer, 0, 8));
        Assert.Equal("3456789", Encoding.ASCII.GetString(buffer, 0, 7));
        Assert.Equal(10, stream.Position);
        Assert.Equal(0, stream.Read(buffer, 0, 8));

        // The descriptor's own offset is not moved: another reader of it starts at the beginning.
        Assert.Equal(4, file.ReadAt(buffer.AsSpan(0, 4), 0));
        Assert.Equal("0123", Encoding.ASCII.GetString(buffer, 0, 4));
    }

    [Fact]
    public void ItIsReadOnlyAndForwardOnly()
    {
        using var stream = new FileDescriptorStream(_directory.OpenFileAt("file"u8), ownsFile: true);

        Assert.True(stream.CanRead);
        Assert.False(stream.CanSeek);
        Assert.False(stream.CanWrite);
        Assert.Throws<NotSupportedException>(() => stream.Length);
        Assert.Throws<NotSupportedException>(() => stream.Position = 0);
        Assert.Throws<NotSupportedException>(() => stream.Seek(0, SeekOrigin.Begin));
        Assert.Throws<NotSupportedException>(() => stream.SetLength(0));
        Assert.Throws<NotSupportedException>(() => stream.Write([1], 0, 1));
        stream.Flush();
        Assert.Equal("0123456789", new StreamReader(stream).ReadToEnd());
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public void DisposingClosesTheDescriptorOnlyWhenTheStreamOwnsIt(bool ownsFile)
    {
        using var file = _directory.OpenFileAt("file"u8);

        new FileDescriptorStream(file, ownsFile).Dispose();

        Assert.Equal(ownsFile, file.IsClosed);
    }
}
