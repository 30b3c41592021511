using System.Text;

namespace LayerExport.Core.Reader.Windows;

/// <summary>The deletions a transport directory lists in <c>tombstones.txt</c>, grouped by the directory they were deleted from.</summary>
/// <remarks>
/// The file starts with a UTF-8 byte-order mark and <c>Version 1.0</c>; each further line (LF or CRLF) is a path
/// below <c>Files</c> with a leading backslash, e.g. <c>\Windows\Temp\x.log</c>. As hcsshim does, the first byte of
/// a line is dropped and the rest joined onto <c>Files</c> and cleaned as a Windows path ('\' and '/' separate,
/// '.' and '..' resolve); the whiteout goes right after the directory it names, if the walk ever reaches it.
/// Blank lines are skipped (hcsshim's reader panics on them).
/// </remarks>
internal sealed class TombstoneList
{
    private static readonly byte[] Header = [0xEF, 0xBB, 0xBF, .. "Version 1.0"u8];

    private readonly Dictionary<string, List<byte[]>> _byDirectory = new(StringComparer.Ordinal);

    private TombstoneList()
    {
    }

    /// <summary>A list without deletions, for base layers.</summary>
    public static TombstoneList Empty { get; } = new();

    /// <summary>Number of deletions listed.</summary>
    public int Count { get; private set; }

    /// <summary>Parses the file's bytes.</summary>
    /// <exception cref="FormatException">The first line is not the byte-order mark and <c>Version 1.0</c>.</exception>
    public static TombstoneList Parse(ReadOnlySpan<byte> content)
    {
        var list = new TombstoneList();
        var first = true;
        while (!content.IsEmpty)
        {
            var end = content.IndexOf((byte)'\n');
            var line = end >= 0 ? content[..end] : content;
            content = end >= 0 ? content[(end + 1)..] : [];
            if (line.EndsWith("\r"u8))
            {
                line = line[..^1];
            }

            if (first)
            {
                first = false;
                if (!line.SequenceEqual(Header))
                {
                    throw InvalidHeader();
                }

                continue;
            }

            if (!line.IsEmpty)
            {
                list.Add(line[1..]);
            }
        }

        return first ? throw InvalidHeader() : list;
    }

    /// <summary>Names (last path components) deleted from the directory at <paramref name="directoryPath"/>, in file order.</summary>
    /// <param name="directoryPath">The directory's tar name, components joined by '/', e.g. <c>Files/Windows</c>.</param>
    public IReadOnlyList<byte[]> For(ReadOnlySpan<byte> directoryPath) =>
        _byDirectory.TryGetValue(Encoding.Latin1.GetString(directoryPath), out var names) ? names : [];

    private static FormatException InvalidHeader() =>
        new("tombstones.txt must start with a UTF-8 byte-order mark and 'Version 1.0' on its first line");

    // filepath.Join("Files", rest) on Windows, then Dir and Base of the result.
    private void Add(ReadOnlySpan<byte> rest)
    {
        var components = new List<byte[]> { "Files"u8.ToArray() };
        foreach (var range in rest.SplitAny((byte)'\\', (byte)'/'))
        {
            var component = rest[range];
            if (component.IsEmpty || component.SequenceEqual("."u8))
            {
                continue;
            }

            if (component.SequenceEqual(".."u8))
            {
                if (components.Count > 0 && !components[^1].AsSpan().SequenceEqual(".."u8))
                {
                    components.RemoveAt(components.Count - 1);
                }
                else
                {
                    components.Add(component.ToArray());
                }

                continue;
            }

            components.Add(component.ToArray());
        }

        Count++;
        if (components.Count < 2)
        {
            // The parent is "." (the transport directory itself), which the walk never yields: hcsshim drops it too.
            return;
        }

        var directory = Encoding.Latin1.GetString(Join(components.GetRange(0, components.Count - 1)));
        if (!_byDirectory.TryGetValue(directory, out var names))
        {
            _byDirectory[directory] = names = [];
        }

        names.Add(components[^1]);
    }

    private static byte[] Join(List<byte[]> components)
    {
        var joined = new List<byte>();
        foreach (var component in components)
        {
            if (joined.Count > 0)
            {
                joined.Add((byte)'/');
            }

            joined.AddRange(component);
        }

        return [.. joined];
    }
}
