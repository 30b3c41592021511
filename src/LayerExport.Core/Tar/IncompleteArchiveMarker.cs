using System.Buffers;
using System.Globalization;
using System.Text;

namespace LayerExport.Core.Tar;

/// <summary>Bytes that make a tar cut short at an entry boundary fail in tar readers instead of passing for complete.</summary>
/// <remarks>
/// A tar that simply stops between two entries, without its end blocks, is read as complete by GNU tar, bsdtar,
/// Go and Python. These bytes are a valid PAX extended header that announces a block of records, and then only
/// the first record, which says what happened: every reader now meets the end of the data inside an entry. GNU
/// tar exits 2 ("Unexpected EOF in archive"), bsdtar 1, Go's archive/tar returns "unexpected EOF", and Python's
/// tarfile (3.8 to 3.13, listing or extracting, seekable or streamed) raises <c>ReadError</c>, because a bad or
/// missing header right after an extended header is the one fault it never passes over in silence. At 593 bytes
/// the marker fits in the two end blocks it replaces, so the body still ends short of its announced length.
/// </remarks>
public static class IncompleteArchiveMarker
{
    private const string Message = "LAYER EXPORT FAILED: this tar is incomplete; the server log says why.\n";

    /// <summary>The marker: a PAX header announcing one block of records, and the first record only.</summary>
    public static ReadOnlyMemory<byte> Bytes { get; } = Build();

    private static byte[] Build()
    {
        var record = PaxRecord("comment", Message);
        var output = new ArrayBufferWriter<byte>(TarHeaderEncoder.BlockSize + record.Length);
        TarHeaderEncoder.Write(
            new TarEntryHeader
            {
                Name = "LAYER-EXPORT-FAILED"u8.ToArray(),
                Type = TarEntryType.PaxExtendedHeader,
                Mode = 0x1A4,
                Size = TarHeaderEncoder.BlockSize,
            },
            output);
        output.Write(record);
        return output.WrittenSpan.ToArray();
    }

    // "<length> <key>=<value>", where the length counts its own digits too.
    private static byte[] PaxRecord(string key, string value)
    {
        var body = $" {key}={value}";
        for (var length = body.Length + 1; ; length++)
        {
            var record = string.Create(CultureInfo.InvariantCulture, $"{length}{body}");
            if (record.Length == length)
            {
                return Encoding.ASCII.GetBytes(record);
            }
        }
    }
}
