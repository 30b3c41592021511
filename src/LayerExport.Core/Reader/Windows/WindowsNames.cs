namespace LayerExport.Core.Reader.Windows;

/// <summary>The names that mean something in a Windows layer directory.</summary>
internal static class WindowsNames
{
    /// <summary>The directory of the layer's files.</summary>
    public static ReadOnlySpan<byte> Files => "Files"u8;

    /// <summary>The registry delta hives.</summary>
    public static ReadOnlySpan<byte> Hives => "Hives"u8;

    /// <summary>The utility VM image.</summary>
    public static ReadOnlySpan<byte> UtilityVM => "UtilityVM"u8;

    /// <summary>The hive whose times <c>Files</c> and <c>Hives</c> take.</summary>
    public static ReadOnlySpan<byte> SystemDelta => "System_Delta"u8;

    /// <summary>The deletions of a transport directory.</summary>
    public static ReadOnlySpan<byte> Tombstones => "tombstones.txt"u8;

    /// <summary>The parent chain, nearest first; store metadata, never exported.</summary>
    public static ReadOnlySpan<byte> LayerChain => "layerchain.json"u8;

    /// <summary>The suffix of a directory's metadata twin.</summary>
    public static ReadOnlySpan<byte> DirectoryTwinSuffix => ".$wcidirs$"u8;

    /// <summary>Whiteouts are named <c>.wh.&lt;deleted name&gt;</c>.</summary>
    public static ReadOnlySpan<byte> WhiteoutPrefix => ".wh."u8;

    /// <summary>
    /// True for the name Go's <c>strings.EqualFold</c> finds equal to the ASCII <paramref name="expected"/>: letters in
    /// either case, and the two non-ASCII letters that fold onto ASCII ones (U+017F long s, U+212A Kelvin sign).
    /// </summary>
    public static bool FoldEquals(ReadOnlySpan<byte> name, ReadOnlySpan<byte> expected)
    {
        var text = System.Text.Encoding.UTF8.GetString(name);
        if (text.Length != expected.Length)
        {
            return false;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var want = char.ToLowerInvariant((char)expected[i]);
            var have = text[i] switch
            {
                '\u017F' => 's',
                '\u212A' => 'k',
                var c and < '\u0080' => char.ToLowerInvariant(c),
                _ => '\0',
            };
            if (have != want)
            {
                return false;
            }
        }

        return true;
    }
}
