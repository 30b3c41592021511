using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Windows;

/// <summary>A <c>windows</c> layer store in a temp directory, built entry by entry with the times each entry should show.</summary>
/// <remarks>Times are FILETIME ticks; they are applied children first when the store is opened, so creating an entry never moves them.</remarks>
internal sealed class WindowsTestStore : IDisposable
{
    public const long Epoch = 116_444_736_000_000_000;
    public const uint DirectoryAttribute = 0x10, ArchiveAttribute = 0x20, ReadOnlyAttribute = 0x01, ReparsePointAttribute = 0x400;

    private readonly TempDirectory _root;
    private readonly List<(string Path, long AccessTicks, long WriteTicks)> _times = [];

    /// <summary>A store in a new directory under <paramref name="parent"/> (a scratch file system's, say), or under the temp directory.</summary>
    public WindowsTestStore(string? parent = null) => _root = new TempDirectory("layerexport-", parent);

    public string Root => _root.Path;

    public TempDirectory Outputs { get; } = new();

    /// <summary>FILETIME ticks of a Unix time given in seconds and 100-nanosecond units.</summary>
    public static long Ticks(long unixSeconds, long hundredNanoseconds = 0) => (unixSeconds * 10_000_000) + hundredNanoseconds + Epoch;

    /// <summary>Creates <c>&lt;id&gt;/Files/</c> and, when <paramref name="chain"/> is not null, <c>&lt;id&gt;/layerchain.json</c>.</summary>
    public void AddLayer(string id, params string[]? chain)
    {
        Directory.CreateDirectory(Path(id, "Files"));
        if (chain is not null)
        {
            File.WriteAllText(Path(id, "layerchain.json"), JsonSerializer.Serialize(chain));
        }
    }

    /// <summary>A file holding 4 bytes of attributes and then <paramref name="backupStream"/>.</summary>
    public void Encoded(string path, uint attributes, byte[] backupStream, long writeTicks, long accessTicks)
    {
        Write(path, [.. Attributes(attributes), .. backupStream]);
        _times.Add((Path(path), accessTicks, writeTicks));
    }

    /// <summary>A directory and its <c>.$wcidirs$</c> twin holding its attributes and backup stream.</summary>
    public void EncodedDirectory(string path, uint attributes, byte[] backupStream, long writeTicks, long accessTicks)
    {
        Directory.CreateDirectory(Path(path));
        Encoded(path + ".$wcidirs$", attributes, backupStream, writeTicks, accessTicks);
    }

    public void Plain(string path, byte[] content, long writeTicks)
    {
        Write(path, content);
        _times.Add((Path(path), writeTicks, writeTicks));
    }

    public void PlainDirectory(string path, long writeTicks)
    {
        Directory.CreateDirectory(Path(path));
        _times.Add((Path(path), writeTicks, writeTicks));
    }

    /// <summary>A transport directory's <c>tombstones.txt</c>: the header line, then <paramref name="lines"/> as given.</summary>
    public void Tombstones(string layer, string lines, string newline = "\n") =>
        Write(layer + "/tombstones.txt", [0xEF, 0xBB, 0xBF, .. Encoding.UTF8.GetBytes("Version 1.0" + newline + lines)]);

    public void Write(string path, byte[] bytes)
    {
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(Path(path))!);
        File.WriteAllBytes(Path(path), bytes);
    }

    public string Path(params string[] parts) => System.IO.Path.Combine([Root, .. parts]);

    /// <summary>Applies the recorded times (children first) and opens the store.</summary>
    public WindowsLayerStore Open()
    {
        for (var i = _times.Count - 1; i >= 0; i--)
        {
            var (path, access, write) = _times[i];
            var (accessSeconds, accessNanoseconds) = UnixTime(access);
            var (writeSeconds, writeNanoseconds) = UnixTime(write);
            Posix.SetTimes(path, accessSeconds, accessNanoseconds, writeSeconds, writeNanoseconds);
        }

        return new WindowsLayerStore(Root);
    }

    public async Task<byte[]> ExportAsync(string id)
    {
        using var store = Open();
        return await TarExport.ToBytesAsync(store, id, CancellationToken.None);
    }

    public async Task<string> ExportToFileAsync(string id)
    {
        var path = Outputs.Combine(id + ".tar");
        await File.WriteAllBytesAsync(path, await ExportAsync(id));
        return path;
    }

    public void Dispose()
    {
        _root.Dispose();
        Outputs.Dispose();
    }

    private static byte[] Attributes(uint attributes)
    {
        var bytes = new byte[4];
        BinaryPrimitives.WriteUInt32LittleEndian(bytes, attributes);
        return bytes;
    }

    private static (long Seconds, long Nanoseconds) UnixTime(long ticks)
    {
        var nanoseconds = (ticks - Epoch) * 100;
        var seconds = Math.DivRem(nanoseconds, 1_000_000_000, out var rest);
        return rest < 0 ? (seconds - 1, rest + 1_000_000_000) : (seconds, rest);
    }
}
