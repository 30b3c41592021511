using System.Formats.Tar;
using System.IO.Pipelines;
using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.TarSplit;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>A PAX global header has a file entry of its own in a record, yet it is no member of the tar.</summary>
public class TarSplitGlobalHeaderTests
{
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task GnuTarsGlobalHeaderIsNotCountedAsAMember(bool range)
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=posix --pax-option=comment=a-global-header", ".", longNames: false);
        var tarPath = Path.Combine(layer.Directory, "layer.tar");
        var listed = await GnuTar.ListNamesAsync(tarPath);

        var entries = await CountEntriesAsync(layer.Unpacked, layer.OpenRecord, new FileInfo(tarPath).Length, range);

        // The record has one file entry more than GNU tar lists: the global header's.
        Assert.Equal(listed.Count + 1, layer.ReadRecordLines().Count(line => line.StartsWith("{\"type\":1,", StringComparison.Ordinal)));
        Assert.Equal(listed.Count, entries);
    }

    [Theory]
    [InlineData(false, false)]
    [InlineData(false, true)]
    [InlineData(true, false)]
    [InlineData(true, true)]
    public async Task GlobalHeadersAreNoMembersWhereverTheirPaddingIs(bool paddingInNextSegment, bool range)
    {
        using var layer = new SyntheticLayer();
        var tar = TarWithTwoGlobalHeaders(out var recordsLength);
        var lines = Lines(tar, i => paddingInNextSegment ? (i * 1024) + 512 + recordsLength : (i + 1) * 1024);

        var entries = await CountEntriesAsync(layer.Root, () => SyntheticLayer.OpenRecord(lines), tar.Length, range);

        Assert.Equal(1, entries);
        Assert.Equal(tar, (await Reassembly.RunAsync(layer.Root, () => SyntheticLayer.OpenRecord(lines), null, null)).Received);
    }

    [Fact]
    public async Task AnEntryWhoseHeadersCannotBeFollowedIsCounted()
    {
        using var layer = new SyntheticLayer();
        var tar = TarWithTwoGlobalHeaders(out _);
        tar[148] ^= 1; // the first global header's checksum, one bit off
        var lines = Lines(tar, i => (i + 1) * 1024);

        var entries = await CountEntriesAsync(layer.Root, () => SyntheticLayer.OpenRecord(lines), tar.Length, range: false);

        Assert.Equal(2, entries);
    }

    // tar-split may end a segment inside a header block: the walk takes the block's rest from the next one.
    [Fact]
    public void AHeaderSplitAcrossSegmentsIsReadWhole()
    {
        var tar = TarWithTwoGlobalHeaders(out _);
        var headers = new RecordedHeaders();
        headers.Read(tar.AsSpan(0, 100));
        headers.Read(tar.AsSpan(100, 1024 - 100));

        Assert.Equal(RecordedMember.GlobalHeader, headers.Classify(TarSplitEntry.ForFile("pax_global_header"u8.ToArray(), 0, checksum: 0, position: 1, lineNumber: 2)));
    }

    // A block whose checksum fails ends the walk: a valid global header after it in the segment is not followed.
    [Fact]
    public void NoHeaderIsFollowedPastOneWhoseChecksumFails()
    {
        var tar = TarWithTwoGlobalHeaders(out _);
        tar[148] ^= 1;
        var headers = new RecordedHeaders();
        headers.Read(tar.AsSpan(0, 2048));

        Assert.Equal(RecordedMember.Member, headers.Classify(TarSplitEntry.ForFile("pax_global_header"u8.ToArray(), 0, checksum: 0, position: 1, lineNumber: 2)));
    }

    // Two global headers, then a.txt (with the extended header .NET's writer gives it), as .NET's own tar writer writes them.
    private static byte[] TarWithTwoGlobalHeaders(out int recordsLength)
    {
        var output = new MemoryStream();
        using (var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true))
        {
            writer.WriteEntry(new PaxGlobalExtendedAttributesTarEntry(new Dictionary<string, string> { ["comment"] = "first" }));
            writer.WriteEntry(new PaxGlobalExtendedAttributesTarEntry(new Dictionary<string, string> { ["comment"] = "other" }));
            writer.WriteEntry(new PaxTarEntry(TarEntryType.RegularFile, "a.txt") { DataStream = new MemoryStream(SyntheticLayer.A) });
        }

        var tar = output.ToArray();
        Assert.Equal((byte)'g', tar[156]);
        Assert.Equal((byte)'g', tar[1024 + 156]);
        recordsLength = Convert.ToInt32(Encoding.ASCII.GetString(tar, 124, 11), 8);
        Assert.Equal(recordsLength, Convert.ToInt32(Encoding.ASCII.GetString(tar, 1024 + 124, 11), 8));
        return tar;
    }

    // The record tar-split would write, the segment of global header i ending at segmentEnd(i), each followed by the
    // header's file entry; then the segment up to a.txt's content, a.txt, and the rest.
    private static string[] Lines(byte[] tar, Func<int, int> segmentEnd)
    {
        var content = tar.AsSpan(2048).IndexOf(SyntheticLayer.A) + 2048;
        return
        [
            SyntheticRecord.Segment(tar[..segmentEnd(0)], 0),
            SyntheticRecord.File("pax_global_header", [], 1),
            SyntheticRecord.Segment(tar[segmentEnd(0)..segmentEnd(1)], 2),
            SyntheticRecord.File("pax_global_header", [], 3),
            SyntheticRecord.Segment(tar[segmentEnd(1)..content], 4),
            SyntheticRecord.File("a.txt", SyntheticLayer.A, 5),
            SyntheticRecord.Segment(tar[(content + SyntheticLayer.A.Length)..], 6),
        ];
    }

    private static async Task<long> CountEntriesAsync(string root, Func<TarSplitRecord> openRecord, long tarLength, bool range)
    {
        using var directory = FileDescriptor.OpenDirectory(root);
        using var record = openRecord();
        var assembler = new TarSplitAssembler(directory);
        if (range)
        {
            await assembler.WriteRangeAsync(record, PipeWriter.Create(Stream.Null), 0, tarLength, CancellationToken.None);
        }
        else
        {
            await assembler.WriteAsync(record, PipeWriter.Create(Stream.Null), null, CancellationToken.None);
        }

        return assembler.EntriesWritten;
    }
}
