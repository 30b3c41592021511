namespace LayerExport.Core.Reader.Windows;

/// <summary>An entry's content put together from pieces of its backup file and zero-filled holes.</summary>
internal sealed class SegmentedContent : IEntryContent
{
    private readonly SharedFile _file;
    private readonly ContentSegment[] _segments;
    private readonly long[] _starts;

    /// <summary>Content of <paramref name="segments"/>; takes over the reference <paramref name="file"/>.</summary>
    public SegmentedContent(SharedFile file, IReadOnlyList<ContentSegment> segments)
    {
        _file = file;
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
    public void Dispose() => _file.Dispose();
}
