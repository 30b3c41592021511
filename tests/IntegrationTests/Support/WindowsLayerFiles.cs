using System.Buffers.Binary;
using System.Text;
using System.Text.Json;

namespace IntegrationTests.Support;

/// <summary>Writes Windows layers in the form the <c>windows</c> layout reads: attributes + Win32 backup stream per file.</summary>
internal static class WindowsLayerFiles
{
    public const uint DirectoryAttribute = 0x10, ArchiveAttribute = 0x20, SparseFileAttribute = 0x200;

    // STREAM_SPARSE_ATTRIBUTE of a WIN32_STREAM_ID.
    private const uint SparseStreamAttribute = 8;

    /// <summary>The security descriptor <see cref="AddBaseAndApp"/> gives its files.</summary>
    public static readonly byte[] SampleSecurityDescriptor = [0x01, 0x00, 0x04, 0x80, 0x14, 0x00];

    /// <summary>
    /// <c>base0</c>, holding only the <c>Files</c> directory's record, and <c>app</c> on it (chained by a Docker
    /// path), which deletes <c>old.txt</c> and adds <c>app.exe</c> ("MZ-app").
    /// </summary>
    public static void AddBaseAndApp(string root)
    {
        var baseLayer = AddLayer(root, "base0");
        AddEncoded(Path.Combine(baseLayer, "Files.$wcidirs$"), DirectoryAttribute, SampleSecurityDescriptor, null);

        var layer = AddLayer(root, "app", @"C:\ProgramData\docker\windowsfilter\base0");
        AddTransportFiles(layer, "\\old.txt\n");
        AddEncoded(Path.Combine(layer, "Files", "app.exe"), ArchiveAttribute, SampleSecurityDescriptor, "MZ-app"u8.ToArray());
    }

    /// <summary>A layer directory with <c>Files/</c> and, for a layer with parents, <c>layerchain.json</c>.</summary>
    public static string AddLayer(string root, string id, params string[] chain)
    {
        var layer = Path.Combine(root, id);
        Directory.CreateDirectory(Path.Combine(layer, "Files"));
        if (chain.Length > 0)
        {
            File.WriteAllText(Path.Combine(layer, "layerchain.json"), JsonSerializer.Serialize(chain));
        }

        return layer;
    }

    /// <summary>The tombstones header, <paramref name="lines"/>, and <c>Hives/System_Delta</c>: what a transport directory needs.</summary>
    public static void AddTransportFiles(string layer, string lines)
    {
        File.WriteAllBytes(Path.Combine(layer, "tombstones.txt"), [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("Version 1.0\n" + lines)]);
        Directory.CreateDirectory(Path.Combine(layer, "Hives"));
        File.WriteAllBytes(Path.Combine(layer, "Hives", "System_Delta"), "regf"u8.ToArray());
    }

    /// <summary>Writes 4 bytes of attributes and a backup stream of one security stream and, when given, one data stream.</summary>
    public static void AddEncoded(string path, uint attributes, byte[] securityDescriptor, byte[]? data)
    {
        var bytes = new List<byte>();
        bytes.AddRange(LittleEndian(attributes));
        AddStream(bytes, 3, securityDescriptor);
        if (data is not null)
        {
            AddStream(bytes, 1, data);
        }

        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, [.. bytes]);
    }

    /// <summary>A sparse file with no data: an empty sparse data stream, then the terminating sparse block naming <paramref name="logicalSize"/>.</summary>
    public static void AddHollowSparse(string path, long logicalSize)
    {
        var bytes = new List<byte>();
        bytes.AddRange(LittleEndian(SparseFileAttribute | ArchiveAttribute));
        AddStream(bytes, 1, [], SparseStreamAttribute);
        var offset = new byte[8];
        BinaryPrimitives.WriteInt64LittleEndian(offset, logicalSize);
        AddStream(bytes, 9, offset);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.WriteAllBytes(path, [.. bytes]);
    }

    // WIN32_STREAM_ID: u32 id, u32 attributes, u64 size, u32 name size (0 here), then the payload.
    private static void AddStream(List<byte> bytes, uint id, byte[] payload, uint attributes = 0)
    {
        var header = new byte[20];
        BinaryPrimitives.WriteUInt32LittleEndian(header, id);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(4), attributes);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), (ulong)payload.Length);
        bytes.AddRange(header);
        bytes.AddRange(payload);
    }

    private static byte[] LittleEndian(uint value)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, value);
        return bytes;
    }
}
