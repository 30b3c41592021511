using System.Buffers;
using LayerExport.Core.Tar;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Tar;

/// <summary>
/// A tar cut between two entries passes for complete in GNU tar, bsdtar, Go and Python; followed by the marker,
/// every one of them fails, listing and extracting, and still fails once <c>curl -C -</c> has appended the rest.
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
    public async Task ATarCutBetweenEntriesPassesForCompleteInEveryReader()
    {
        var results = await ReadWithEveryReaderAsync(await WriteCutAsync(Cut.BetweenEntries));

        Assert.All(results, static r => Assert.True(r.ExitCode == 0, $"{r.Reader} rejected the cut tar (so the marker would not be needed there): {r.Error}"));
    }

    [Fact]
    public async Task ATarCutAfterAFilesLastBytePassesForCompleteInGo()
    {
        var results = await ReadWithEveryReaderAsync(await WriteCutAsync(Cut.AfterAFilesLastByte));

        Assert.Contains(results, static r => r.Reader == "Go archive/tar" && r.ExitCode == 0);
    }

    [Theory]
    [InlineData(Cut.BetweenEntries)]
    [InlineData(Cut.AfterAFilesLastByte)]
    public async Task EveryReaderRejectsACutTarThatEndsInTheMarker(Cut cut)
    {
        var path = _work.Combine("marked.tar");
        var (tar, written, padding) = CutTar(cut);
        var marker = IncompleteArchiveMarker.After(written, padding, tar.Length)!;
        await File.WriteAllBytesAsync(path, [.. tar.AsSpan(0, (int)written), .. marker]);

        var results = await ReadWithEveryReaderAsync(path);

        Assert.All(results, static r => Assert.True(r.ExitCode != 0, $"{r.Reader} accepted a tar that ends in the marker"));
    }

    [Theory]
    [InlineData(Cut.BetweenEntries)]
    [InlineData(Cut.AfterAFilesLastByte)]
    public async Task EveryReaderRejectsWhatCurlMakesWhenItResumesAfterTheMarker(Cut cut)
    {
        // `curl -C -` asks for the bytes after the ones it kept, the marker included, and appends them.
        var path = _work.Combine("resumed.tar");
        var (tar, written, padding) = CutTar(cut);
        var marker = IncompleteArchiveMarker.After(written, padding, tar.Length)!;
        byte[] kept = [.. tar.AsSpan(0, (int)written), .. marker];
        await File.WriteAllBytesAsync(path, [.. kept, .. tar.AsSpan(kept.Length)]);

        var results = await ReadWithEveryReaderAsync(path);

        Assert.All(results, static r => Assert.True(r.ExitCode != 0, $"{r.Reader} accepted a resumed tar that lost the entries under the marker"));
    }

    [Fact]
    public void NoMarkerInsideAHeaderOrAFilesData()
    {
        // A cut there fails in every reader already, and a resume would put the marker into a file's content.
        Assert.Null(IncompleteArchiveMarker.After(written: 1024, paddingToEntryEnd: null, announced: 10_240));
    }

    [Fact]
    public void NoMarkerThatWouldReachTheAnnouncedLength()
    {
        // Two end blocks are room enough; one is not, and a body of its announced length would pass for complete.
        Assert.NotNull(IncompleteArchiveMarker.After(written: 9_216, paddingToEntryEnd: 0, announced: 10_240));
        Assert.Null(IncompleteArchiveMarker.After(written: 9_728, paddingToEntryEnd: 0, announced: 10_240));
        Assert.Null(IncompleteArchiveMarker.After(written: 9_000, paddingToEntryEnd: 216, announced: 9_728));
    }

    [Fact]
    public void AMarkerThatWouldEndExactlyAtTheAnnouncedLengthIsNotSent()
    {
        // That body would be as long as announced, so an HTTP client would take the failed export for a whole one.
        var entryEnd = 9_000 + 216;

        Assert.Null(IncompleteArchiveMarker.After(written: 9_000, paddingToEntryEnd: 216, announced: entryEnd + IncompleteArchiveMarker.Length));

        var marker = IncompleteArchiveMarker.After(written: 9_000, paddingToEntryEnd: 216, announced: entryEnd + IncompleteArchiveMarker.Length + 1)!;
        Assert.Equal(216 + IncompleteArchiveMarker.Length, marker.Length);
        Assert.True(marker.AsSpan(0, 216).IndexOfAnyExcept((byte)0) < 0, "the marker does not start with the padding that ends the last entry");
    }

    [Theory]
    [InlineData(10_240L)]
    [InlineData(100L << 30)]
    public void TheMarkersRecordsReachPastTheAnnouncedEndInOneHeaderBlock(long announced)
    {
        // Up to the octal limit of the size field; beyond it, Go's encoding would need a PAX header for the PAX header.
        const long Written = 9_000, Padding = 216;

        var marker = IncompleteArchiveMarker.After(Written, Padding, announced)!;

        Assert.Equal(Padding + IncompleteArchiveMarker.Length, marker.Length);
        var header = marker.AsSpan((int)Padding, TarHeaderEncoder.BlockSize);
        Assert.Equal((byte)'x', header[156]);
        var size = Convert.ToInt64(System.Text.Encoding.ASCII.GetString(header.Slice(124, 11)), 8);
        Assert.Equal(Math.Min(announced - (Written + Padding), (8L << 30) - 1), size);
    }

    [Fact]
    public void TheMarkersRecordDeclaresItsOwnLength()
    {
        var marker = IncompleteArchiveMarker.After(written: 0, paddingToEntryEnd: 0, announced: 1 << 20)!;
        var record = System.Text.Encoding.ASCII.GetString(marker, TarHeaderEncoder.BlockSize, marker.Length - TarHeaderEncoder.BlockSize);

        Assert.Equal(IncompleteArchiveMarker.Length, marker.Length);
        Assert.Equal(record.Length.ToString(System.Globalization.CultureInfo.InvariantCulture), record[..record.IndexOf(' ', StringComparison.Ordinal)]);
        Assert.EndsWith("\n", record, StringComparison.Ordinal);
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

    /// <summary>Where a failed export stopped.</summary>
    public enum Cut
    {
        /// <summary>After the second of three entries.</summary>
        BetweenEntries,

        /// <summary>After the second file's last byte, before its padding.</summary>
        AfterAFilesLastByte,
    }

    private async Task<string> WriteCutAsync(Cut cut)
    {
        var path = _work.Combine("cut.tar");
        var (tar, written, _) = CutTar(cut);
        await File.WriteAllBytesAsync(path, tar[..(int)written]);
        return path;
    }

    // A whole tar of three entries, the bytes a failed export had sent, and the padding its last entry still owes.
    private static (byte[] Tar, long Written, long Padding) CutTar(Cut cut)
    {
        var output = new ArrayBufferWriter<byte>();
        var cutAt = 0L;
        var padding = 0L;
        foreach (var (name, content) in new[] { ("a.txt", "first\n"u8.ToArray()), ("b/c.txt", "second\n"u8.ToArray()), ("z.txt", new byte[700]) })
        {
            TarHeaderEncoder.Write(new TarEntryHeader { Name = System.Text.Encoding.ASCII.GetBytes(name), Type = TarEntryType.RegularFile, Mode = 0x1A4, Size = content.Length }, output);
            output.Write(content);
            if (name == "b/c.txt" && cut == Cut.AfterAFilesLastByte)
            {
                (cutAt, padding) = (output.WrittenCount, TarHeaderEncoder.PaddedLength(content.Length) - content.Length);
            }

            TarHeaderEncoder.WritePadding(content.Length, output);
            if (name == "b/c.txt" && cut == Cut.BetweenEntries)
            {
                cutAt = output.WrittenCount;
            }
        }

        output.Write(TarHeaderEncoder.EndOfArchive.Span);
        return (output.WrittenSpan.ToArray(), cutAt, padding);
    }
}
