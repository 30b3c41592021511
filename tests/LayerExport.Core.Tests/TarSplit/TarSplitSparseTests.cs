using System.Text;
using LayerExport.Core.Store;
using LayerExport.Core.Tar;
using LayerExport.Core.TarSplit;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>tar-split records a GNU sparse file with its holes filled in, so its record cannot rebuild the tar: the measure says so before any byte is sent.</summary>
public sealed class TarSplitSparseTests : IDisposable
{
    // A 1 MiB file with three bytes in the middle, beside an ordinary one; tar-split disassembles GNU tar's archive.
    private const string Script = """
        command -v tar-split >/dev/null || { echo "tar-split is not installed (Debian package tar-split; ./test.sh installs it)" >&2; exit 127; }
        mkdir -p src
        truncate -s 1M src/holes
        printf abc | dd of=src/holes bs=1 seek=500000 conv=notrunc status=none
        printf 'hello\n' > src/a.txt
        head -c 4096 /dev/urandom > src/whole
        (cd src && tar $1 --sort=name -cf ../layer.tar $2)
        tar-split disasm --no-stdout --output record.json.gz layer.tar
        """;

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData("--format=gnu --sparse")]
    [InlineData("--format=posix --sparse")]
    [InlineData("--format=posix --sparse --sparse-version=0.1")]
    [InlineData("--format=posix --sparse --sparse-version=0.0")]
    public async Task AGnuSparseFileIsNamedAsOneTheRecordCannotRebuild(string tarOptions)
    {
        await Shell.RunAsync(Script, _directory.Path, tarOptions, "a.txt holes whole");

        AssertNamedAsSparse();
    }

    // Large xattrs beside the sparse keys make such records; Go's reader takes up to 1 MiB of them.
    [Fact]
    public async Task ASparseFileWhosePaxRecordsPass64KiBIsNamedToo()
    {
        await Shell.RunAsync(Script, _directory.Path, "--format=posix --sparse --pax-option=comment:=" + new string('c', 70_000), "a.txt holes whole");

        AssertNamedAsSparse();
    }

    // GNU tar writes a base-256 size past 8 GiB; Go's reader takes one for any size, so a small file shows it.
    [Fact]
    public async Task AnOldGnuSparseHeaderWithABase256SizeIsNamedToo()
    {
        await Shell.RunAsync(Script, _directory.Path, "--format=gnu --sparse", "a.txt holes whole");
        var tar = File.ReadAllBytes(_directory.Combine("layer.tar"));
        var header = Enumerable.Range(0, tar.Length / TarHeaderEncoder.BlockSize).Select(i => i * TarHeaderEncoder.BlockSize)
            .Single(at => tar[at + 156] == 'S' && tar.AsSpan(at).StartsWith("holes\0"u8));
        var block = tar.AsSpan(header, TarHeaderEncoder.BlockSize);
        Base256(Convert.ToInt64(Encoding.ASCII.GetString(block.Slice(124, 11)), 8)).CopyTo(block[124..]);
        Seal(block);
        File.WriteAllBytes(_directory.Combine("layer.tar"), tar);
        await Shell.RunAsync("tar-split disasm --no-stdout --output record.json.gz layer.tar", _directory.Path);

        AssertNamedAsSparse();
    }

    // Only the holes make the difference: the same file archived whole, or a file without holes under --sparse, rebuild.
    [Theory]
    [InlineData("--format=gnu", "a.txt holes whole")]
    [InlineData("--format=posix", "a.txt holes whole")]
    [InlineData("--format=gnu --sparse", "a.txt whole")]
    [InlineData("--format=posix --sparse", "a.txt whole")]
    public async Task WithoutHolesLeftOutTheTarIsMeasuredWhole(string tarOptions, string members)
    {
        await Shell.RunAsync(Script, _directory.Path, tarOptions, members);

        Assert.Equal(new FileInfo(_directory.Combine("layer.tar")).Length, Measure());
    }

    // A PAX size record (GNU tar writes one past 8 GiB) counts the bytes the tar held, not the header's size field.
    [Theory]
    [InlineData("5000", 5000, false)]
    [InlineData("5000", 0, true)]
    [InlineData("9223372036854775807", long.MaxValue, false)]
    public void APaxSizeRecordCountsTheBytesTheTarHeld(string size, long content, bool sparse)
    {
        var headers = new RecordedHeaders();
        headers.Read(Extended(Record("size", size) + Record("GNU.sparse.major", "1")));
        headers.Read(Header('0', size: 0));

        Assert.Equal(sparse ? RecordedMember.ExpandedSparseFile : RecordedMember.Member, headers.Classify(Entry(content)));
    }

    // Go's reader takes a PAX size record for the bytes an old GNU sparse header's member holds too.
    [Fact]
    public void APaxSizeRecordCountsForAnOldGnuSparseHeader()
    {
        var headers = new RecordedHeaders();
        headers.Read(Extended(Record("size", "5000")));
        headers.Read(Header('S', size: 0));

        Assert.Equal(RecordedMember.Member, headers.Classify(Entry(5000)));
    }

    // A size record that is no number says nothing: the one before it still counts.
    [Theory]
    [InlineData("")]
    [InlineData("12x")]
    [InlineData("99999999999999999999")]
    public void ASizeRecordThatIsNoNumberIsPassedOver(string value)
    {
        var headers = new RecordedHeaders();
        headers.Read(Extended(Record("size", "5000") + Record("size", value) + Record("GNU.sparse.major", "1")));
        headers.Read(Header('0', size: 0));

        Assert.Equal(RecordedMember.Member, headers.Classify(Entry(5000)));
    }

    // The records' mark of a sparse file is not carried over to the next entry, whose own header then is not read.
    [Fact]
    public void ASparseFilesRecordsDoNotMarkTheNextEntry()
    {
        var headers = new RecordedHeaders();
        headers.Read(Extended(Record("GNU.sparse.major", "1")));
        headers.Read(Header('0', size: 512));
        Assert.Equal(RecordedMember.ExpandedSparseFile, headers.Classify(Entry(4096)));

        headers.Read(Extended(Record("size", "5120")));
        headers.Read(Header('0', size: 0));
        Assert.Equal(RecordedMember.Member, headers.Classify(Entry(5120)));

        headers.Read(Header('0', size: 0));

        Assert.Equal(RecordedMember.Member, headers.Classify(Entry(5120)));
    }

    // A GNU long name or link, or a global header, is no member's records, whatever its data looks like.
    [Theory]
    [InlineData('L')]
    [InlineData('K')]
    [InlineData('g')]
    public void OnlyAnXHeadersDataIsReadAsRecords(char type)
    {
        var data = Encoding.ASCII.GetBytes(Record("size", "5000") + Record("GNU.sparse.major", "1"));
        var headers = new RecordedHeaders();
        headers.Read([.. Header(type, data.Length), .. data, .. new byte[TarHeaderEncoder.PaddedLength(data.Length) - data.Length]]);
        headers.Read(Header('0', size: 512));

        Assert.Equal(RecordedMember.Member, headers.Classify(Entry(512)));
    }

    // Without the member's own header, nothing says what the tar held: the entry is a member.
    [Fact]
    public void SparseRecordsWithoutTheMembersHeaderMakeAMember()
    {
        var headers = new RecordedHeaders();
        headers.Read(Extended(Record("size", "512") + Record("GNU.sparse.major", "1")));

        Assert.Equal(RecordedMember.Member, headers.Classify(Entry(4096)));
    }

    // Records of any size are read for sparse keys as they go by, none kept whole.
    [Theory]
    [InlineData(64 * 1024)]
    [InlineData(3 * 1024 * 1024)]
    public void RecordsOfAnySizeAreReadForSparseKeys(int commentLength)
    {
        var tar = Extended(Record("comment", new string('c', commentLength)) + Record("GNU.sparse.major", "1"));
        var headers = new RecordedHeaders();
        var before = GC.GetAllocatedBytesForCurrentThread();
        headers.Read(tar);
        headers.Read(Header('0', size: 512));

        Assert.True(GC.GetAllocatedBytesForCurrentThread() - before < 4096);
        Assert.Equal(RecordedMember.ExpandedSparseFile, headers.Classify(Entry(4096)));
    }

    // tar-split ends a segment wherever its buffer ends: inside a record's length, its key or its value. With a
    // 960-byte comment, the records end 10 bytes short of a block: a segment can end as far into the last record as
    // its padding is long.
    [Theory]
    [InlineData(5, false)]
    [InlineData(960, true)]
    public void RecordsSplitAcrossSegmentsAnywhereAreReadWhole(int commentLength, bool sizeLast)
    {
        var size = Record("size", "9876543210");
        var records = Record("comment", new string('c', commentLength)) + (sizeLast ? "" : size) + Record("GNU.sparse.major", "1") + (sizeLast ? size : "");
        byte[] tar = [.. Extended(records), .. Header('0', size: 0)];
        List<int[]> splits = [.. Enumerable.Range(1, tar.Length - 1).Select(at => new[] { at }), [.. Enumerable.Range(1, tar.Length - 1)]];
        foreach (var ends in splits)
        {
            // The size record read whole (not 98765 or 43210), the sparse key found.
            Assert.Equal(RecordedMember.Member, Classify(tar, ends, 9876543210));
            Assert.Equal(RecordedMember.ExpandedSparseFile, Classify(tar, ends, 0));
        }
    }

    // A malformed record ends the reading, so the sparse key after it does not count; an empty key, or a length with a
    // 0, is no malformed record.
    [Theory]
    [InlineData("2 ", false)]
    [InlineData("6 =ab\n", true)]
    [InlineData("10 abc=de\n", true)]
    [InlineData("7 abcd\n", false)]
    [InlineData("6 abc=", false)]
    [InlineData(" 7 a=bc\n", false)]
    [InlineData("7x a=bc\n", false)]
    [InlineData("50 GNU.sparse.major=1\n", false)]
    [InlineData("1< GNU.sparse.major=1\n", false)]
    public void AMalformedRecordEndsTheReading(string malformed, bool sparse)
    {
        var headers = new RecordedHeaders();
        headers.Read(Extended(Record("comment", "holes") + malformed + Record("GNU.sparse.major", "1")));
        headers.Read(Header('0', size: 512));

        Assert.Equal(sparse ? RecordedMember.ExpandedSparseFile : RecordedMember.Member, headers.Classify(Entry(4096)));
    }

    // GNU's base-256 size field counts as an octal one does.
    [Theory]
    [InlineData(512, 512, false)]
    [InlineData(512, 4096, true)]
    [InlineData(long.MaxValue - 511, 0, true)]
    public void AnOldGnuSparseHeadersBase256SizeCountsTheBytesTheTarHeld(long stored, long content, bool sparse)
    {
        var headers = new RecordedHeaders();
        headers.Read(Header('S', size: 0, Base256(stored)));

        Assert.Equal(sparse ? RecordedMember.ExpandedSparseFile : RecordedMember.Member, headers.Classify(Entry(content)));
    }

    [Fact]
    public void AnExtendedHeadersBase256SizeIsFollowed()
    {
        var headers = new RecordedHeaders();
        headers.Read(Extended(Record("GNU.sparse.major", "1"), base256: true));
        headers.Read(Header('0', size: 512));

        Assert.Equal(RecordedMember.ExpandedSparseFile, headers.Classify(Entry(4096)));
    }

    // A size field the walk cannot read (empty, not octal, negative, past 2^63, or past what blocks of a tar can pad)
    // says nothing of what the tar held.
    [Theory]
    [InlineData(4096, new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    [InlineData(0, new byte[] { (byte)'0', (byte)'0', (byte)'0', (byte)'0', (byte)'0', (byte)'0', (byte)'0', (byte)'0', (byte)'0', (byte)'1', (byte)'9', 0 })]
    [InlineData(0, new byte[] { 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xF0, 0 })]
    [InlineData(0, new byte[] { 0x80, 0, 0, 0, 0x80, 0, 0, 0, 0, 0, 0x10, 0 })]
    [InlineData(0, new byte[] { 0x80, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0x10, 0 })]
    [InlineData(0, new byte[] { 0x81, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0 })]
    [InlineData(0, new byte[] { 0x80, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFE, 0x01 })]
    public void AnOldGnuSparseHeaderWithAnUnreadableSizeIsAMember(long content, byte[] sizeField)
    {
        var headers = new RecordedHeaders();
        headers.Read(Header('S', size: 0, sizeField));

        Assert.Equal(RecordedMember.Member, headers.Classify(Entry(content)));
    }

    // An extended header no tar can hold ends the walk: the records after it are not read as its data.
    [Fact]
    public void AnExtendedHeaderWithASizePastWhatATarCanHoldEndsTheWalk()
    {
        var headers = new RecordedHeaders();
        headers.Read(Header('x', size: 0, [0x80, 0, 0, 0, 0x7F, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF]));

        Assert.Equal(RecordedMember.Member, headers.Classify(Entry(4096)));
    }

    private void AssertNamedAsSparse()
    {
        var error = Assert.Throws<LayerStoreCorruptException>(() => Measure());

        Assert.Matches(@"^The tar-split record, line \d+: holes is a GNU sparse file, which tar-split records with its holes filled in: the record cannot rebuild the layer's tar\.$", error.Message);
    }

    private long Measure()
    {
        using var record = new TarSplitRecord(File.OpenRead(_directory.Combine("record.json.gz")), leaveOpen: false);
        return TarSplitAssembler.MeasureTarLength(record, CancellationToken.None);
    }

    private static TarSplitEntry Entry(long size) => TarSplitEntry.ForFile("holes"u8.ToArray(), size, checksum: 0, position: 1, lineNumber: 2);

    // A PAX record: its length counts the whole record.
    private static string Record(string key, string value)
    {
        var body = $" {key}={value}\n";
        var length = body.Length + 1;
        while ((length.ToString(System.Globalization.CultureInfo.InvariantCulture) + body).Length != length)
        {
            length++;
        }

        return length.ToString(System.Globalization.CultureInfo.InvariantCulture) + body;
    }

    // An x header, its records and their padding.
    private static byte[] Extended(string records, bool base256 = false)
    {
        var data = Encoding.ASCII.GetBytes(records);
        return [.. Header('x', data.Length, base256 ? Base256(data.Length) : null), .. data, .. new byte[TarHeaderEncoder.PaddedLength(data.Length) - data.Length]];
    }

    // tar read in segments ending at each of ends, then the entry of content bytes classified.
    private static RecordedMember Classify(byte[] tar, int[] ends, long content)
    {
        var headers = new RecordedHeaders();
        var start = 0;
        foreach (var end in ends.Append(tar.Length))
        {
            headers.Read(tar.AsSpan(start..end));
            start = end;
        }

        return headers.Classify(Entry(content));
    }

    // GNU's base-256 size field: 0x80, then the value big-endian.
    private static byte[] Base256(long value)
    {
        var field = new byte[12];
        field[0] = 0x80;
        System.Buffers.Binary.BinaryPrimitives.WriteInt64BigEndian(field.AsSpan(4), value);
        return field;
    }

    // The checksum field of a header block, filled as tar fills it.
    private static void Seal(Span<byte> block) =>
        Encoding.ASCII.GetBytes(Convert.ToString(TarHeaderEncoder.Checksum(block), 8).PadLeft(6, '0') + "\0 ").CopyTo(block[148..]);

    // A header block as tar writes it: the size in octal (or the field given), a checksum that holds.
    private static byte[] Header(char type, long size, byte[]? sizeField = null)
    {
        var block = new byte[TarHeaderEncoder.BlockSize];
        "holes"u8.CopyTo(block);
        (sizeField ?? Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0'))).CopyTo(block, 124);
        block[156] = (byte)type;
        Seal(block);
        return block;
    }
}
