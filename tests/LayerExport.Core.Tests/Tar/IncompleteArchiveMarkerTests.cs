using System.Buffers;
using LayerExport.Core.Tar;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Tar;

/// <summary>
/// A tar cut between two entries passes for complete in GNU tar, bsdtar, Go and Python; followed by the marker,
/// every one of them fails, listing and extracting.
/// </summary>
public sealed class IncompleteArchiveMarkerTests(GoTarFixture go) : IClassFixture<GoTarFixture>, IDisposable
{
    private const string PythonReadsEverything = """
        import sys, tarfile
        mode = sys.argv[2]
        with tarfile.open(fileobj=open(sys.argv[1], "rb"), mode=mode) as archive:
            for member in archive:
                if member.isfile():
                    archive.extractfile(member).read()
        """;

    private readonly TempDirectory _work = new();

    public void Dispose() => _work.Dispose();

    [Fact]
    public async Task ACutTarWithoutTheMarkerPassesForCompleteInEveryReader()
    {
        var path = _work.Combine("cut.tar");
        await File.WriteAllBytesAsync(path, CutTar());

        var results = await ReadWithEveryReaderAsync(path);

        Assert.All(results, static r => Assert.True(r.ExitCode == 0, $"{r.Reader} rejected the cut tar (so the marker would not be needed): {r.Error}"));
    }

    [Fact]
    public async Task EveryReaderRejectsACutTarThatEndsInTheMarker()
    {
        var path = _work.Combine("marked.tar");
        await File.WriteAllBytesAsync(path, [.. CutTar(), .. IncompleteArchiveMarker.Bytes.Span]);

        var results = await ReadWithEveryReaderAsync(path);

        Assert.All(results, static r => Assert.True(r.ExitCode != 0, $"{r.Reader} accepted a tar that ends in the marker"));
    }

    [Fact]
    public void TheMarkerFitsInTheEndBlocksAndLeavesNoWholeBlock()
    {
        // The announced-length check fails before the two end blocks are written: the marker must fit in them and
        // still leave the body short of its Content-Length.
        Assert.True(IncompleteArchiveMarker.Bytes.Length < 2 * TarHeaderEncoder.BlockSize);
        Assert.NotEqual(0, IncompleteArchiveMarker.Bytes.Length % TarHeaderEncoder.BlockSize);
    }

    private async Task<List<(string Reader, int ExitCode, string Error)>> ReadWithEveryReaderAsync(string path)
    {
        var results = new List<(string, int, string)>();
        foreach (var (reader, tool, arguments) in new (string, string, string[])[]
        {
            ("GNU tar -t", "tar", ["-tf", path]),
            ("GNU tar -x", "tar", ["-xf", path, "-C", Directory.CreateDirectory(_work.Combine("gnu")).FullName]),
            ("bsdtar -t", "bsdtar", ["-tf", path]),
            ("bsdtar -x", "bsdtar", ["-xf", path, "-C", Directory.CreateDirectory(_work.Combine("bsd")).FullName]),
            ("Python tarfile", "python3", ["-c", PythonReadsEverything, path, "r:"]),
            ("Python tarfile, streamed", "python3", ["-c", PythonReadsEverything, path, "r|"]),
        })
        {
            var result = await ExternalTool.RunAsync(tool, arguments);
            results.Add((reader, result.ExitCode, result.Stderr));
        }

        var goRead = await go.ReadAsync(await File.ReadAllBytesAsync(path));
        results.Add(("Go archive/tar", goRead.ExitCode, goRead.Error));
        return results;
    }

    // Two whole entries, without the end-of-archive blocks: what a failed export has sent when it stops between entries.
    private static byte[] CutTar()
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var (name, content) in new[] { ("a.txt", "first\n"u8.ToArray()), ("b/c.txt", "second\n"u8.ToArray()) })
        {
            TarHeaderEncoder.Write(new TarEntryHeader { Name = System.Text.Encoding.ASCII.GetBytes(name), Type = TarEntryType.RegularFile, Mode = 0x1A4, Size = content.Length }, output);
            output.Write(content);
            TarHeaderEncoder.WritePadding(content.Length, output);
        }

        return output.WrittenSpan.ToArray();
    }
}
