using System.Text;

namespace TarEncoderComparison;

/// <summary>The fixed, deterministic set of entries every writer encodes.</summary>
/// <remarks>
/// Entry <c>i</c> is a directory, regular file, symlink or hard link by <c>i % 10</c>; its name is short ASCII,
/// long but splittable into ustar prefix and name, long with a final component over 100 bytes, or non-ASCII by
/// <c>(i / 10) % 4</c>. Every hundredth entry (<c>i % 100 == 1</c>) has uid and gid 3,000,000 (over ustar's
/// 2,097,151); every hundredth symlink (<c>i % 100 == 7</c>) has a 150-byte target; every fiftieth
/// (<c>i % 50 == 3</c>) carries the binary xattr <c>user.bin</c>, which is not valid UTF-8.
/// </remarks>
internal static class EntrySet
{
    public const int DefaultCount = 20_000;

    public const long LargeId = 3_000_000;

    public static readonly byte[] BinaryXattrName = "user.bin"u8.ToArray();

    public static IReadOnlyList<BenchEntry> Create(int count)
    {
        var entries = new List<BenchEntry>(count);
        for (var i = 0; i < count; i++)
        {
            entries.Add(CreateEntry(i, entries));
        }

        return entries;
    }

    private static BenchEntry CreateEntry(int i, List<BenchEntry> earlier)
    {
        var kind = i % 10;
        var id = i % 100 == 1 ? LargeId : 1000;
        var xattrs = i % 50 == 3
            ? new List<(byte[], byte[])> { (BinaryXattrName, [0xFF, 0xFE, 0x00, 0x80, 0xC3, 0x28, (byte)i]) }
            : [];
        var entry = new BenchEntry(Name(i, kind == 0), (byte)'0', 0x1A4, id, id, 1_700_000_000 + i, [], [], xattrs);
        return kind switch
        {
            0 => entry with { Type = (byte)'5', Mode = 0x1ED },
            7 => entry with { Type = (byte)'2', Mode = 0x1FF, LinkName = SymlinkTarget(i) },
            8 => entry with { Type = (byte)'1', LinkName = earlier[i - 2].Name },
            9 => entry,
            _ => entry with { Data = Data(i) },
        };
    }

    private static byte[] Name(int i, bool directory)
    {
        var name = ((i / 10) % 4) switch
        {
            0 => $"tree/d{i / 10}/f{i}.txt",
            1 => $"tree/{new string('p', 60)}/{new string('q', 40)}/f{i}.txt",
            2 => $"tree/d{i / 10}/{new string('n', 110)}-{i}.txt",
            _ => $"tree/данные-{i / 10}/файл-{i}-ü.txt",
        };
        return Encoding.UTF8.GetBytes(directory ? name + "/" : name);
    }

    private static byte[] SymlinkTarget(int i) =>
        Encoding.ASCII.GetBytes(i % 100 == 7 ? $"{new string('t', 140)}-{i:D9}" : $"target-{i}");

    private static byte[] Data(int i)
    {
        var data = new byte[i * 37 % 1500];
        for (var k = 0; k < data.Length; k++)
        {
            data[k] = (byte)(i + (k * 7));
        }

        return data;
    }
}
