using System.Text;

namespace StressTests.Infrastructure;

/// <summary>The entry names and types of a complete tar in memory: enough to tell what state of a file an export caught.</summary>
internal static class TarEntries
{
    private const int Block = 512;

    /// <summary>Each entry's path and type flag, in order; PAX 'path' records override the header's name.</summary>
    public static IReadOnlyList<(string Name, char Type)> Read(ReadOnlySpan<byte> tar)
    {
        var entries = new List<(string, char)>();
        string? paxPath = null;
        for (var offset = 0; offset + Block <= tar.Length;)
        {
            var header = tar.Slice(offset, Block);
            if (header.IndexOfAnyExcept((byte)0) < 0)
            {
                break;
            }

            var type = (char)header[156];
            var size = Convert.ToInt64(Field(header, 124, 12).Trim(), 8);
            var data = tar.Slice(offset + Block, (int)size);
            offset += Block + (int)((size + Block - 1) / Block * Block);
            if (type == 'x')
            {
                paxPath = PaxPath(data);
                continue;
            }

            var prefix = Field(header, 345, 155);
            var name = paxPath ?? (prefix.Length > 0 ? prefix + "/" + Field(header, 0, 100) : Field(header, 0, 100));
            entries.Add((name, type));
            paxPath = null;
        }

        return entries;
    }

    private static string Field(ReadOnlySpan<byte> header, int start, int length)
    {
        var field = header.Slice(start, length);
        var end = field.IndexOf((byte)0);
        return Encoding.UTF8.GetString(end >= 0 ? field[..end] : field);
    }

    private static string? PaxPath(ReadOnlySpan<byte> records)
    {
        foreach (var record in Encoding.UTF8.GetString(records).Split('\n'))
        {
            var space = record.IndexOf(' ', StringComparison.Ordinal);
            if (space > 0 && record[(space + 1)..].StartsWith("path=", StringComparison.Ordinal))
            {
                return record[(space + 6)..];
            }
        }

        return null;
    }
}
