using LayerExport.Core.Tar;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Tar;

/// <summary>How much a file read takes as more large files are read at once.</summary>
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
        using var reads = LargeFileReads.Begin(FileReadSize.LargeReadsAtOnce + 1);

        Assert.All(reads.Reads, read => Assert.InRange(read.Chunk, FileReadSize.Crowded, FileReadSize.Small));
    }

    [Fact]
    public void ManyLargeFilesReadAtOnceAllTakeCrowdedReads()
    {
        using var reads = LargeFileReads.Begin(FileReadSize.SmallReadsAtOnce + 1);

        Assert.All(reads.Reads, read => Assert.Equal(FileReadSize.Crowded, read.Chunk));
    }
}
