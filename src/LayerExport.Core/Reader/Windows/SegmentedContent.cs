using LayerExport.Core.Native;

namespace LayerExport.Core.Reader.Windows;

/// <summary>An entry's content put together from pieces of its backup file and zero-filled holes.</summary>
internal sealed class SegmentedContent : IEntryContent
{
    private readonly SharedFile _file;
    private readonly ContentSegment[] _segments;
    private readonly long[] _starts;
    private readonly FileStatus _opened;

    /// <summary>Content of <paramref name="segments"/>; takes over the reference <paramref name="file"/>.</summary>
    /// <param name="file">The backup file, or the plain file, the segments are of.</param>
    /// <param name="segments">The pieces of the content, in order.</param>
    /// <param name="opened">The file's status when it was opened, which its entry's header was made from.</param>
    public SegmentedContent(SharedFile file, IReadOnlyList<ContentSegment> segments, in FileStatus opened)
    {
        _file = file;
        _opened = opened;
        _segments = [.. segments];
        _starts = new long[_segments.Length];
        long start = 0;
        for (var i = 0; i < _segments.Length; i++)
        {
            _starts[i] = start;
            start += _segments[i].Length;
        }

        Length = start;
    }

    /// <summary>Total bytes of content.</summary>
    public long Length { get; }

    /// <inheritdoc />
    public int Read(Span<byte> destination, long offset)
    {
        if (offset >= Length || destination.IsEmpty)
        {
            return 0;
        }

        var index = Array.BinarySearch(_starts, offset);
        if (index < 0)
        {
            index = ~index - 1;
        }

        var segment = _segments[index];
        var within = offset - _starts[index];
        var wanted = (int)Math.Min(destination.Length, segment.Length - within);
        if (segment.IsZeros)
        {
            destination[..wanted].Clear();
            return wanted;
        }

        return _file.Descriptor.ReadAt(destination[..wanted], segment.FileOffset + within);
    }

    /// <inheritdoc />
    /// <remarks>The content ends where the header says whatever the file holds now: only its status tells a file written to since its open.</remarks>
    public void EnsureUnchanged() => DiskEntryReader.EnsureUnchanged(_file.Descriptor, _opened);

    /// <inheritdoc />
    public void Dispose() => _file.Dispose();
}
