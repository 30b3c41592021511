namespace LayerExport.Core.Tar;

/// <summary>How much of one file's data a single read takes: less the more large files are being read in the whole process.</summary>
/// <remarks>
/// Every read lands in the response pipe's memory and stays there until the socket has sent it, and the digest's
/// copies follow it. Reads of <see cref="Large"/> halve the reads, flushes and hash hand-overs per byte (8% faster
/// and 7% less server CPU on large files, measured), but they double the memory each download holds. So only while
/// at most <see cref="LargeReadsAtOnce"/> files above <see cref="Small"/> are being read at once do reads take
/// <see cref="Large"/>; up to <see cref="SmallReadsAtOnce"/>, <see cref="Small"/>; beyond that the two cores are
/// already saturated, larger reads buy no speed, and <see cref="Crowded"/> reads keep what each download holds
/// small (16 downloads of large files peaked about 10 MB lower, at the same speed). The count is process-wide on
/// purpose: memory is.
/// </remarks>
internal readonly struct FileReadSize : IDisposable
{
    /// <summary>The read size while a few large files are read at once; also the largest file read whole in one go.</summary>
    public const int Small = 256 * 1024;

    /// <summary>The read size while few large files are read at once.</summary>
    public const int Large = 512 * 1024;

    /// <summary>The read size while many large files are read at once: two flush batches (<see cref="TarStreamWriter.FlushThreshold"/>).</summary>
    public const int Crowded = 128 * 1024;

    /// <summary>How many large files may be read at once with <see cref="Large"/> reads: one per core of the machines we measure.</summary>
    public const int LargeReadsAtOnce = 2;

    /// <summary>How many large files may be read at once with <see cref="Small"/> reads: two per core.</summary>
    public const int SmallReadsAtOnce = 4;

    private static int s_largeFilesBeingRead;

    private readonly bool _counted;

    private FileReadSize(bool counted) => _counted = counted;

    /// <summary>Bytes the next read of this file may take; reads after another download starts take less.</summary>
    public int Chunk => _counted ? ChunkWhile(Volatile.Read(ref s_largeFilesBeingRead)) : Small;

    /// <summary>Starts reading a file of <paramref name="size"/> bytes; dispose when its reads are done.</summary>
    public static FileReadSize Begin(long size)
    {
        if (size <= Small)
        {
            return default;
        }

        Interlocked.Increment(ref s_largeFilesBeingRead);
        return new FileReadSize(counted: true);
    }

    /// <summary>The read size of a large file while <paramref name="largeFilesBeingRead"/> large files (itself included) are being read.</summary>
    public static int ChunkWhile(int largeFilesBeingRead) => largeFilesBeingRead switch
    {
        <= LargeReadsAtOnce => Large,
        <= SmallReadsAtOnce => Small,
        _ => Crowded,
    };

    /// <inheritdoc />
    public void Dispose()
    {
        if (_counted)
        {
            Interlocked.Decrement(ref s_largeFilesBeingRead);
        }
    }
}
