using System.Buffers.Binary;
using System.IO.Compression;
using System.Text;
using System.Text.Json;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>Hand-made tar-split record lines, written the way tar-split's Go encoder writes them.</summary>
internal static class SyntheticRecord
{
    public static string Segment(byte[] bytes, int position) =>
        $$"""{"type":2,"payload":"{{Convert.ToBase64String(bytes)}}","position":{{position}}}""";

    public static string File(string name, byte[] content, int position) =>
        $$"""{"type":1,"name":{{JsonSerializer.Serialize(name)}},"size":{{content.Length}},"payload":"{{Checksum(content)}}","position":{{position}}}""";

    public static string Checksum(byte[] content)
    {
        var crc = new byte[8];
        BinaryPrimitives.WriteUInt64BigEndian(crc, Crc64Iso.Compute(content));
        return Convert.ToBase64String(crc);
    }

    /// <summary>Each line followed by a newline, gzip-compressed.</summary>
    public static byte[] Compress(IEnumerable<string> lines) => Compress(string.Concat(lines.Select(l => l + "\n")));

    public static byte[] Compress(string text)
    {
        var output = new MemoryStream();
        using (var gzip = new GZipStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            gzip.Write(Encoding.UTF8.GetBytes(text));
        }

        return output.ToArray();
    }

    public static TarSplitRecord Open(byte[] compressed) => new(new MemoryStream(compressed), leaveOpen: false);
}
