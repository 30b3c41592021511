using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.TarSplit;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>
/// A small unpacked layer and a hand-made record for it: two files, each after a 512-byte "header" segment of
/// non-zero bytes and followed by its zero padding, then the two end blocks. No tar tool is needed: the assembler
/// copies segments as they are.
/// </summary>
internal sealed class SyntheticLayer : IDisposable
{
    public const int AStart = 512;
    public const int BStart = 1024 + 512;

    public static readonly byte[] A = Encoding.ASCII.GetBytes("hello\n");
    public static readonly byte[] B = [.. Enumerable.Range(0, 700).Select(i => (byte)(i % 251 + 1))];

    private readonly TempDirectory _root = new("layerexport-synthetic-");

    public SyntheticLayer()
    {
        File.WriteAllBytes(_root.Combine("a.txt"), A);
        File.WriteAllBytes(_root.Combine("b.bin"), B);
    }

    public string Root => _root.Path;

    /// <summary>header, a.txt, padding, header, b.bin, padding and end blocks.</summary>
    public static string[] Lines =>
    [
        SyntheticRecord.Segment(Header('a'), 0),
        SyntheticRecord.File("a.txt", A, 1),
        SyntheticRecord.Segment([.. new byte[512 - A.Length], .. Header('b')], 2),
        SyntheticRecord.File("b.bin", B, 3),
        SyntheticRecord.Segment(new byte[1024 - B.Length + 1024], 4),
    ];

    /// <summary>The tar <see cref="Lines"/> describe.</summary>
    public static byte[] Tar =>
        [.. Header('a'), .. A, .. new byte[512 - A.Length], .. Header('b'), .. B, .. new byte[1024 - B.Length + 1024]];

    public static TarSplitRecord OpenRecord(IEnumerable<string> lines) => SyntheticRecord.Open(SyntheticRecord.Compress(lines));

    /// <summary>Bytes <paramref name="start"/> to <paramref name="end"/> of the tar as the assembler writes them.</summary>
    public async Task<byte[]> RangeAsync(long start, long end)
    {
        using var root = FileDescriptor.OpenDirectory(Root);
        using var record = OpenRecord(Lines);
        var received = new MemoryStream();
        var output = System.IO.Pipelines.PipeWriter.Create(received, new(leaveOpen: true));
        await new TarSplitAssembler(root).WriteRangeAsync(record, output, start, end, CancellationToken.None);
        await output.CompleteAsync();
        return received.ToArray();
    }

    public void Dispose() => _root.Dispose();

    private static byte[] Header(char c) => Encoding.ASCII.GetBytes(new string(c, 512));
}
