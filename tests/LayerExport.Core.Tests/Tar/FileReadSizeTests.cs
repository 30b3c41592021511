using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Tar;

public sealed class FileReadSizeTests
{
    [Theory]
    [InlineData(1, FileReadSize.Large)]
    [InlineData(FileReadSize.LargeReadsAtOnce, FileReadSize.Large)]
    [InlineData(FileReadSize.LargeReadsAtOnce + 1, FileReadSize.Small)]
    [InlineData(64, FileReadSize.Small)]
    public void LargeReadsOnlyWhileFewLargeFilesAreRead(int largeFilesBeingRead, int expected) =>
        Assert.Equal(expected, FileReadSize.ChunkWhile(largeFilesBeingRead));

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(FileReadSize.Small)]
    public void AFileThatFitsOneSmallReadNeverTakesALargeOne(long size)
    {
        using var reads = FileReadSize.Begin(size);
        Assert.Equal(FileReadSize.Small, reads.Chunk);
    }

    [Fact]
    public void ManyLargeFilesReadAtOnceAllTakeSmallReads()
    {
        // Other tests may read large files meanwhile; they only add to the count, so this holds whatever they do.
        var reads = Enumerable.Range(0, FileReadSize.LargeReadsAtOnce + 1).Select(_ => FileReadSize.Begin(FileReadSize.Small + 1)).ToList();
        try
        {
            Assert.All(reads, read => Assert.Equal(FileReadSize.Small, read.Chunk));
        }
        finally
        {
            reads.ForEach(read => read.Dispose());
        }
    }
}
