using System.Text;

namespace LayerExport.Core.Tar;

/// <summary>Bytes that make a tar cut short at an entry boundary fail in tar readers instead of passing for complete.</summary>
/// <remarks>
/// A tar that simply stops between two entries, without its end blocks, is read as complete by GNU tar, bsdtar,
/// Go and Python. These bytes are a block that is no valid header (its checksum field is empty) followed by a
/// part of a block: GNU tar then exits 2 ("Skipping to next header"), bsdtar 1 ("Damaged" and "Truncated tar
/// archive"), Go's archive/tar returns "invalid tar header". Python's tarfile still stops quietly at the first
/// bad header after the first entry. Both parts carry a message for whoever looks at the bytes.
/// </remarks>
public static class IncompleteArchiveMarker
{
    private const string Message = "LAYER EXPORT FAILED: this tar is incomplete; the server log says why.\n";

    /// <summary>The marker: one invalid header block, then the message again as a partial block.</summary>
    public static ReadOnlyMemory<byte> Bytes { get; } = Build();

    private static byte[] Build()
    {
        var message = Encoding.ASCII.GetBytes(Message);
        var bytes = new byte[TarHeaderEncoder.BlockSize + message.Length];
        message.CopyTo(bytes, 0);
        message.CopyTo(bytes, TarHeaderEncoder.BlockSize);
        return bytes;
    }
}
