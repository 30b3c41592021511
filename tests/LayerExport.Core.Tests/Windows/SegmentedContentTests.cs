using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Reader.Windows;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Windows;

/// <summary>An entry's content put together from pieces of its backup file and holes reads as one file would.</summary>
public sealed class SegmentedContentTests : IDisposable
{
    private readonly TempDirectory _directory = new("layerexport-segments-");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void AReadThatStartsInsideAPieceStopsAtItsEnd()
    {
        // The writer reads in chunks, so a read can start inside a piece; the bytes after it belong to other streams.
        using var content = Content();
        var buffer = new byte[16];

        Assert.Equal(3, content.Read(buffer, 1));
        Assert.Equal("345", Encoding.ASCII.GetString(buffer, 0, 3));
    }

    [Fact]
    public void AHoleReadsAsZerosWhateverTheBufferHeld()
    {
        // The writer's buffers are pooled: a hole left as the buffer was would carry an earlier file's bytes.
        using var content = Content();
        var buffer = Enumerable.Repeat((byte)0xFF, 16).ToArray();

        Assert.Equal(2, content.Read(buffer, 5));
        Assert.Equal(new byte[] { 0, 0, 0xFF }, buffer[..3]);
    }

    [Fact]
    public void ReadingPieceByPieceGivesTheWholeContent()
    {
        using var content = Content();
        var whole = new List<byte>();
        var buffer = new byte[2];
        int read;
        while ((read = content.Read(buffer, whole.Count)) > 0)
        {
            whole.AddRange(buffer[..read]);
        }

        Assert.Equal(9, content.Length);
        Assert.Equal("2345\0\0\0ab", Encoding.ASCII.GetString(whole.ToArray()));
    }

    [Theory]
    [InlineData(9)]
    [InlineData(12)]
    public void AReadAtOrPastTheEndGivesNothing(long offset)
    {
        using var content = Content();

        Assert.Equal(0, content.Read(new byte[16], offset));
    }

    // "2345" from the file, a hole of 3, then "ab": 9 bytes.
    private SegmentedContent Content()
    {
        File.WriteAllBytes(_directory.Combine("backup"), "0123456789abcdefghij"u8.ToArray());
        using var directory = FileDescriptor.OpenDirectory(_directory.Path);
        var file = directory.OpenFileAt("backup"u8);
        return new SegmentedContent(new SharedFile(file), [new ContentSegment(4, 2), ContentSegment.Zeros(3), new ContentSegment(2, 10)], file.Stat());
    }
}
