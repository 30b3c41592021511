using System.Text;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>Reading a tar-split record: its entries and fields as Go writes them, and malformed lines named.</summary>
public class TarSplitRecordTests
{
    private static readonly string Header = SyntheticRecord.Segment(new byte[512], 0);

    [Fact]
    public void EntriesComeBackWithTheirFields()
    {
        var content = Encoding.ASCII.GetBytes("hi\n");
        var compressed = SyntheticRecord.Compress(
        [
            Header,
            SyntheticRecord.File("./a.txt", content, 1),
            """{"type":1,"name":"./dir/","payload":null,"position":2}""",
            """{"type":1,"name":"ignored","name_raw":"/3Jhdw==","size":3,"payload":"YUmYEAAAAAA=","position":3,"extra":{"nested":[1,2]}}""",
            """{"type":1,"name":"a\u003cb\u0026c","size":3,"payload":"YUmYEAAAAAA=","position":4}""",
            """{"type":2,"payload":"","position":5}""",
        ]);
        using var record = SyntheticRecord.Open(compressed);
        var entries = new List<TarSplitEntry>();
        while (record.TryRead(out var entry))
        {
            entries.Add(entry);
        }

        Assert.Equal(6, entries.Count);
        Assert.Equal(TarSplitEntryType.Segment, entries[0].Type);
        Assert.Equal(512, entries[0].Size);
        Assert.Equal(512, entries[0].Bytes.Length);
        Assert.Equal(TarSplitEntryType.File, entries[1].Type);
        Assert.Equal("./a.txt", entries[1].DisplayName);
        Assert.Equal(3, entries[1].Size);
        Assert.Equal(0x6149981000000000UL, entries[1].Checksum);
        Assert.Equal(1, entries[1].Position);
        Assert.Equal(2, entries[1].LineNumber);
        Assert.Equal(0, entries[2].Size);
        Assert.Equal(new byte[] { 0xFF, (byte)'r', (byte)'a', (byte)'w' }, entries[3].Name.ToArray());
        Assert.Equal("a<b&c", entries[4].DisplayName);
        Assert.Equal(0, entries[5].Size);
        Assert.Equal(6, record.LineNumber);
    }

    [Fact]
    public void NullFieldsTakeTheirZeroValueAsGoDecodesThem()
    {
        // Go's decoder leaves a field at its zero value for null; a record that spells that out is still valid.
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress(
        [
            """{"type":1,"name":null,"name_raw":null,"size":null,"payload":null,"position":null}""",
            """{"type":2,"payload":null,"position":null}""",
        ]));

        Assert.True(record.TryRead(out var file));
        Assert.Equal(TarSplitEntryType.File, file.Type);
        Assert.True(file.Name.IsEmpty);
        Assert.Equal(0, file.Size);
        Assert.Equal(0, file.Position);
        Assert.True(record.TryRead(out var segment));
        Assert.Equal(TarSplitEntryType.Segment, segment.Type);
        Assert.Equal(0, segment.Size);
        Assert.False(record.TryRead(out _));
    }

    [Theory]
    [InlineData("""{"type":2,"payload":"AAAA","position":1""", "malformed JSON")]
    [InlineData("""not json at all""", "malformed JSON")]
    [InlineData("""[1,2]""", "not a JSON object")]
    [InlineData("""{"type":2,"payload":"AAAA"} {"type":2}""", "more than one JSON value")]
    [InlineData("""{"type":7,"payload":"AAAA","position":1}""", "unknown entry type 7")]
    [InlineData("""{"payload":"AAAA","position":1}""", "unknown entry type 0")]
    [InlineData("""{"type":"2","payload":"AAAA","position":1}""", "'type' is not a 64-bit integer")]
    [InlineData("""{"type":2,"payload":"AA*A","position":1}""", "'payload' is not valid base64")]
    [InlineData("""{"type":2,"payload":"AAA","position":1}""", "'payload' is not valid base64")]
    [InlineData("""{"type":1,"name":"./f","name_raw":"Li9m*","size":0,"position":1}""", "'name_raw' is not valid base64")]
    [InlineData("""{"type":2,"payload":"AAAA","position":"1"}""", "'position' is not a 64-bit integer")]
    [InlineData("""{"type":1,"name":"./f","size":-1,"payload":"YUmYEAAAAAA=","position":1}""", "negative file size -1")]
    [InlineData("""{"type":1,"name":"./f","size":3,"payload":"YUmYEA==","position":1}""", "checksum is 4 bytes, not 8")]
    [InlineData("""{"type":1,"size":3,"payload":"YUmYEAAAAAA=","position":1}""", "has no name")]
    [InlineData("""{"type":1,"name":"./f","size":3.5,"payload":"YUmYEAAAAAA=","position":1}""", "'size' is not a 64-bit integer")]
    [InlineData("""{"type":1,"name":42,"size":3,"payload":"YUmYEAAAAAA=","position":1}""", "'name' is not a string")]
    [InlineData("""{"type":1,"name":"./\ud800f","size":3,"payload":"YUmYEAAAAAA=","position":1}""", "'name' is not a valid JSON string")]
    [InlineData("""{"type":2,"payload":"AAAA\udc00","position":1}""", "'payload' is not a valid JSON string")]
    [InlineData("""{"\ud800":1,"type":2,"payload":"AAAA","position":1}""", "malformed JSON")]
    public void AMalformedThirdLineFailsNamingLineThree(string badLine, string reason)
    {
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress([Header, Header, badLine, Header]));
        Assert.True(record.TryRead(out _));
        Assert.True(record.TryRead(out _));

        var error = Assert.Throws<TarSplitRecordException>(() => record.TryRead(out _));

        Assert.Equal(3, error.LineNumber);
        Assert.Contains("line 3:", error.Message, StringComparison.Ordinal);
        Assert.Contains(reason, error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\n")]
    [InlineData("  \r\n")]
    public void ABlankLineIsMalformedNamingItsLine(string blank)
    {
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress(Header + "\n" + blank + Header + "\n"));
        Assert.True(record.TryRead(out _));

        var error = Assert.Throws<TarSplitRecordException>(() => record.TryRead(out _));

        Assert.Equal(2, error.LineNumber);
        Assert.Contains("blank line", error.Message, StringComparison.Ordinal);
    }

    // Only the line being read is kept: read lines are dropped, so the line limit bounds one line, not the record.
    [Fact]
    public void ARecordOfMoreJsonInAllThanTheLineLimitIsReadToItsEnd()
    {
        var lines = (TarSplitRecord.MaxLineLength / (Header.Length + 1)) + 1000;
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress(Enumerable.Repeat(Header, lines)));

        var read = 0;
        while (record.TryRead(out var entry))
        {
            Assert.Equal(512, entry.Size);
            read++;
        }

        Assert.Equal(lines, read);
        Assert.Equal(lines, record.LineNumber);
    }

    [Fact]
    public void MillionsOfNewlinesFailAtTheFirstInsteadOfBeingReadToTheEnd()
    {
        var source = new MemoryStream(SyntheticRecord.Compress(new string('\n', 64 * 1024 * 1024)));
        using var record = new TarSplitRecord(source, leaveOpen: true);

        var error = Assert.Throws<TarSplitRecordException>(() => TarSplitAssembler.MeasureTarLength(record, CancellationToken.None));

        Assert.Equal(1, error.LineNumber);
        Assert.True(source.Position < source.Length, "the whole record was decompressed");
    }

    [Fact]
    public void MeasuringHonoursCancellationBeforeTheFirstLine()
    {
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress(string.Empty));

        Assert.Throws<OperationCanceledException>(() => TarSplitAssembler.MeasureTarLength(record, new CancellationToken(canceled: true)));
    }

    [Fact]
    public void ARecordCutInsideALineFails()
    {
        var whole = Header + "\n" + Header + "\n";
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress(whole[..^20]));
        Assert.True(record.TryRead(out _));

        var error = Assert.Throws<TarSplitRecordException>(() => record.TryRead(out _));

        Assert.Equal(2, error.LineNumber);
        Assert.Contains("truncated", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARecordThatIsNotGzipFails()
    {
        using var record = SyntheticRecord.Open(Encoding.UTF8.GetBytes(Header + "\n"));

        var error = Assert.Throws<TarSplitRecordException>(() => record.TryRead(out _));

        Assert.Equal(1, error.LineNumber);
        Assert.Contains("not valid gzip", error.Message, StringComparison.Ordinal);
    }

    // Disposing the record is what closes the record file's descriptor.
    [Fact]
    public void DisposingTheRecordClosesItsStreamUnlessLeftOpen()
    {
        var closed = new MemoryStream(SyntheticRecord.Compress(Header + "\n"));
        var kept = new MemoryStream(SyntheticRecord.Compress(Header + "\n"));

        new TarSplitRecord(closed, leaveOpen: false).Dispose();
        new TarSplitRecord(kept, leaveOpen: true).Dispose();

        Assert.False(closed.CanRead);
        Assert.True(kept.CanRead);
    }

    [Fact]
    public void AnEmptyRecordHasNoEntries()
    {
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress(string.Empty));

        Assert.False(record.TryRead(out _));
    }

    [Fact]
    public void ALineLongerThanTheInitialBufferIsRead()
    {
        var big = Enumerable.Range(0, 3 * 1024 * 1024).Select(i => (byte)(i * 7)).ToArray();
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress([Header, SyntheticRecord.Segment(big, 1), Header]));

        Assert.True(record.TryRead(out _));
        Assert.True(record.TryRead(out var entry));
        Assert.True(record.TryRead(out _));

        Assert.True(big.AsSpan().SequenceEqual(entry.Bytes.Span));
        Assert.False(record.TryRead(out _));
    }

    // A line is held whole in memory, so its length is bounded; past the bound it is refused, not taken for a cut record.
    [Fact]
    public void ALineLongerThanTheLimitFailsNamingItsLine()
    {
        using var record = SyntheticRecord.Open(SyntheticRecord.Compress(Header + "\n" + new string('a', TarSplitRecord.MaxLineLength + 10) + "\n"));
        Assert.True(record.TryRead(out _));

        var error = Assert.Throws<TarSplitRecordException>(() => record.TryRead(out _));

        Assert.Equal(2, error.LineNumber);
        Assert.Contains($"the line is longer than {TarSplitRecord.MaxLineLength} bytes", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AHugeRecordIsStreamedNotLoaded()
    {
        const int Entries = 120_000;
        var random = new Random(7);
        var lines = Enumerable.Range(0, Entries).Select(i =>
        {
            var bytes = new byte[96];
            random.NextBytes(bytes);
            return SyntheticRecord.Segment(bytes, i);
        }).Append(SyntheticRecord.Segment(new byte[1024], Entries));
        var compressed = SyntheticRecord.Compress(lines);
        var source = new MemoryStream(compressed);
        using var record = new TarSplitRecord(source, leaveOpen: true);

        Assert.True(record.TryRead(out _));
        var readForFirst = source.Position;
        var length = 96 + TarSplitAssembler.MeasureTarLength(record, CancellationToken.None);

        Assert.True(compressed.Length > 8 * 1024 * 1024, $"the record should be large, is {compressed.Length} bytes");
        Assert.True(readForFirst < 1024 * 1024, $"{readForFirst} compressed bytes were read to get the first entry");
        Assert.Equal((96L * Entries) + 1024, length);
        Assert.Equal(Entries + 1, record.LineNumber);
    }
}
