using System.Text;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Tar;

/// <summary>Compares two tar byte streams and explains the first difference in terms of blocks and header fields.</summary>
public static class TarBytesComparison
{
    private static readonly (int Offset, int Length, string Name)[] HeaderFields =
    [
        (0, 100, "name"), (100, 8, "mode"), (108, 8, "uid"), (116, 8, "gid"), (124, 12, "size"), (136, 12, "mtime"),
        (148, 8, "chksum"), (156, 1, "typeflag"), (157, 100, "linkname"), (257, 6, "magic"), (263, 2, "version"),
        (265, 32, "uname"), (297, 32, "gname"), (329, 8, "devmajor"), (337, 8, "devminor"), (345, 155, "prefix"),
        (500, 12, "padding"),
    ];

    /// <summary>Null when equal; otherwise the first differing offset, its block, and both versions of that block.</summary>
    public static string? Describe(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        var common = expected.CommonPrefixLength(actual);
        if (common == expected.Length && common == actual.Length)
        {
            return null;
        }

        var block = common / TarHeaderEncoder.BlockSize;
        var inBlock = common % TarHeaderEncoder.BlockSize;
        var field = HeaderFields.First(f => inBlock >= f.Offset && inBlock < f.Offset + f.Length);
        var text = new StringBuilder()
            .Append("Go wrote ").Append(expected.Length).Append(" bytes, we wrote ").Append(actual.Length)
            .Append(". First difference at offset ").Append(common)
            .Append(": block ").Append(block).Append(" (bytes ").Append(block * TarHeaderEncoder.BlockSize)
            .Append("..").Append(((block + 1) * TarHeaderEncoder.BlockSize) - 1).Append("), byte ").Append(inBlock)
            .Append(" of it, the '").Append(field.Name).Append("' field if it is a header block.\n");
        AppendBlock(text, "Go", expected, block, inBlock);
        AppendBlock(text, "ours", actual, block, inBlock);
        return text.ToString();
    }

    /// <summary>Fails with <see cref="Describe"/>'s explanation unless the streams are equal.</summary>
    public static void AssertEqual(ReadOnlySpan<byte> expected, ReadOnlySpan<byte> actual)
    {
        var difference = Describe(expected, actual);
        Assert.True(difference is null, difference);
    }

    // Hex and printable characters, 32 bytes a line; lines holding the difference are marked with '>'.
    private static void AppendBlock(StringBuilder text, string label, ReadOnlySpan<byte> data, int block, int differingByte)
    {
        var start = block * TarHeaderEncoder.BlockSize;
        text.Append(label).Append(" block ").Append(block).Append(':');
        if (start >= data.Length)
        {
            text.Append(" (none: the stream ends before it)\n");
            return;
        }

        text.Append('\n');
        var bytes = data.Slice(start, Math.Min(TarHeaderEncoder.BlockSize, data.Length - start));
        for (var line = 0; line < bytes.Length; line += 32)
        {
            var chunk = bytes.Slice(line, Math.Min(32, bytes.Length - line));
            text.Append(differingByte >= line && differingByte < line + 32 ? "> " : "  ").Append(line.ToString("D3", null)).Append(' ');
            foreach (var b in chunk)
            {
                text.Append(b.ToString("x2", null));
            }

            text.Append(' ', ((32 - chunk.Length) * 2) + 1);
            foreach (var b in chunk)
            {
                text.Append(b is >= 0x20 and < 0x7f ? (char)b : '.');
            }

            text.Append('\n');
        }
    }
}
