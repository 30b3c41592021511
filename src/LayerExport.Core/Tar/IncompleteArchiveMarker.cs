using System.Buffers;

namespace LayerExport.Core.Tar;

/// <summary>Bytes that make a tar cut short at an entry boundary fail in tar readers instead of passing for complete.</summary>
/// <remarks>
/// A tar that simply stops between two entries, without its end blocks, is read as complete by GNU tar, bsdtar,
/// Go and Python. The marker is a valid PAX extended header whose records run to past the end of the announced
/// body, followed by only the first record, which says what happened: every reader meets the end of the data
/// inside it. GNU tar exits 2, bsdtar 1, Go's archive/tar returns an error, and Python's tarfile (listing or
/// extracting, seekable or streamed) raises <c>ReadError</c>. Because the records reach past the announced end,
/// the same holds for a file that <c>curl -C -</c> completed after the marker: the bytes resumed after it are read
/// as records, never as entries, so the entries the marker stands in for cannot go missing in silence.
/// Inside a header or a file's data the marker is not sent: a cut there already fails in every reader, and the
/// marker's bytes would land in a file's content if the download were resumed.
/// </remarks>
public static class IncompleteArchiveMarker
{
    /// <summary>Length of the marker: one header block and the first record.</summary>
    public static readonly int Length = TarHeaderEncoder.BlockSize + Record.Length;

    // The largest size an octal header field holds; a marker further than that from the body's end still fails
    // every reader that is cut, and a resumed file only if it is read as garbage after that many bytes.
    private const long MaxRecordsSize = 8L * 1024 * 1024 * 1024 - 1;

    private static ReadOnlySpan<byte> Record => "81 comment=LAYER EXPORT FAILED: this tar is incomplete; the server log says why.\n"u8;

    /// <summary>
    /// What to send after <paramref name="written"/> bytes of a tar announced as <paramref name="announced"/> bytes
    /// long, when the writer failed: the padding that ends the last entry, then the marker; null when the body
    /// should just end (inside a header or file data, or without room before the announced end).
    /// </summary>
    /// <param name="written">Tar bytes sent so far.</param>
    /// <param name="paddingToEntryEnd">Zero bytes that complete the last entry begun; null inside a header or a file's data.</param>
    /// <param name="announced">The body's announced length.</param>
    public static byte[]? After(long written, long? paddingToEntryEnd, long announced)
    {
        if (paddingToEntryEnd is not { } padding)
        {
            return null;
        }

        var at = written + padding;
        if (at + Length >= announced)
        {
            return null;
        }

        var output = new ArrayBufferWriter<byte>((int)padding + Length);
        output.Write(new byte[padding]);
        TarHeaderEncoder.Write(
            new TarEntryHeader
            {
                Name = "LAYER-EXPORT-FAILED"u8.ToArray(),
                Type = TarEntryType.PaxExtendedHeader,
                Mode = 0x1A4,
                Size = Math.Min(announced - at, MaxRecordsSize),
            },
            output);
        output.Write(Record);
        return output.WrittenSpan.ToArray();
    }
}
