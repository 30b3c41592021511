using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Tar;

public sealed class FileReadSizeTests
{
    [Theory]
    [InlineData(1, FileReadSize.Large)]
    [InlineData(FileReadSize.LargeReadsAtOnce, FileReadSize.Large)]
    [InlineData(FileReadSize.LargeReadsAtOnce + 1, FileReadSize.Small)]
    [InlineData(FileReadSize.SmallReadsAtOnce, FileReadSize.Small)]
    [InlineData(FileReadSize.SmallReadsAtOnce + 1, FileReadSize.Crowded)]
    [InlineData(64, FileReadSize.Crowded)]
    public void ReadsShrinkAsMoreLargeFilesAreRead(int largeFilesBeingRead, int expected) =>
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
    public void SeveralLargeFilesReadAtOnceNeverTakeLargeReads()
    {
        // Other tests may read large files meanwhile; they only add to the count, so this holds whatever they do.
        var reads = BeginLargeFiles(FileReadSize.LargeReadsAtOnce + 1);
        try
        {
            Assert.All(reads, read => Assert.InRange(read.Chunk, FileReadSize.Crowded, FileReadSize.Small));
        }
        finally
        {
            reads.ForEach(read => read.Dispose());
        }
    }

    [Fact]
    public void ManyLargeFilesReadAtOnceAllTakeCrowdedReads()
    {
        var reads = BeginLargeFiles(FileReadSize.SmallReadsAtOnce + 1);
        try
        {
            Assert.All(reads, read => Assert.Equal(FileReadSize.Crowded, read.Chunk));
        }
        finally
        {
            reads.ForEach(read => read.Dispose());
        }
    }

    private static List<FileReadSize> BeginLargeFiles(int count) =>
        Enumerable.Range(0, count).Select(_ => FileReadSize.Begin(FileReadSize.Small + 1)).ToList();
}
