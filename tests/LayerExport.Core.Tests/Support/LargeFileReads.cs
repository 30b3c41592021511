using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Support;

/// <summary>Large files counted as being read, as other downloads would, until disposed.</summary>
internal sealed class LargeFileReads : IDisposable
{
    private readonly List<FileReadSize> _reads;

    private LargeFileReads(int count) =>
        _reads = [.. Enumerable.Range(0, count).Select(_ => FileReadSize.Begin(FileReadSize.Small + 1))];

    /// <summary>The reads begun; each one's <see cref="FileReadSize.Chunk"/> is what a read of its file would take now.</summary>
    public IReadOnlyList<FileReadSize> Reads => _reads;

    /// <summary>Begins <paramref name="count"/> reads of large files.</summary>
    public static LargeFileReads Begin(int count) => new(count);

    /// <inheritdoc />
    public void Dispose() => _reads.ForEach(static read => read.Dispose());
}
