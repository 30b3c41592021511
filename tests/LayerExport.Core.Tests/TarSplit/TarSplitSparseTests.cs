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

        var error = Assert.Throws<LayerStoreCorruptException>(() => Measure());

        Assert.Matches(@"^The tar-split record, line \d+: holes is a GNU sparse file, which tar-split records with its holes filled in: the record cannot rebuild the layer's tar\.$", error.Message);
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
    [InlineData(5000, false)]
    [InlineData(0, true)]
    public void APaxSizeRecordCountsTheBytesTheTarHeld(long content, bool sparse)
    {
        var headers = new RecordedHeaders();
        headers.Read(Extended(Record("size", "5000") + Record("GNU.sparse.major", "1")));
        headers.Read(Header('0', size: 0));

        Assert.Equal(sparse ? RecordedMember.ExpandedSparseFile : RecordedMember.Member, headers.Classify(Entry(content)));
    }

    // The records' mark of a sparse file is not carried over to the next entry, whose own header then is not read.
    [Fact]
    public void ASparseFilesRecordsDoNotMarkTheNextEntry()
    {
        var headers = new RecordedHeaders();
        headers.Read(Extended(Record("GNU.sparse.major", "1")));
        headers.Read(Header('0', size: 512));
        Assert.Equal(RecordedMember.ExpandedSparseFile, headers.Classify(Entry(4096)));

        headers.Read(Extended(Record("size", "5000")));
        headers.Read(Header('0', size: 0));

        Assert.Equal(RecordedMember.Member, headers.Classify(Entry(5000)));
    }

    // Without the member's own header, nothing says what the tar held: the entry is a member.
    [Fact]
    public void SparseRecordsWithoutTheMembersHeaderMakeAMember()
    {
        var headers = new RecordedHeaders();
        headers.Read(Extended(Record("size", "512") + Record("GNU.sparse.major", "1")));

        Assert.Equal(RecordedMember.Member, headers.Classify(Entry(4096)));
    }

    // Records up to 64 KiB are read for sparse keys, over several blocks; larger ones are not buffered.
    [Theory]
    [InlineData(64 * 1024, true)]
    [InlineData((64 * 1024) + 1, false)]
    public void RecordsAreReadForSparseKeysUpTo64KiB(int recordsLength, bool sparse)
    {
        var sparseKey = Record("GNU.sparse.major", "1");
        var records = Record("comment", new string('c', recordsLength - sparseKey.Length - 15)) + sparseKey;
        Assert.Equal(recordsLength, records.Length);
        var headers = new RecordedHeaders();
        headers.Read(Extended(records));
        headers.Read(Header('0', size: 512));

        Assert.Equal(sparse ? RecordedMember.ExpandedSparseFile : RecordedMember.Member, headers.Classify(Entry(4096)));
    }

    // A malformed record ends the reading, so the sparse key after it does not count; an empty key is no malformed record.
    [Theory]
    [InlineData("2 ", false)]
    [InlineData("6 =ab\n", true)]
    public void AMalformedRecordEndsTheReading(string malformed, bool sparse)
    {
        var headers = new RecordedHeaders();
        headers.Read(Extended(Record("comment", "holes") + malformed + Record("GNU.sparse.major", "1")));
        headers.Read(Header('0', size: 512));

        Assert.Equal(sparse ? RecordedMember.ExpandedSparseFile : RecordedMember.Member, headers.Classify(Entry(4096)));
    }

    // A size field the walk cannot read (GNU's base-256, or empty) says nothing of what the tar held.
    [Theory]
    [InlineData(new byte[] { 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0x10, 0 })]
    [InlineData(new byte[] { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0 })]
    public void AnOldGnuSparseHeaderWithAnUnreadableSizeIsAMember(byte[] sizeField)
    {
        var headers = new RecordedHeaders();
        headers.Read(Header('S', size: 0, sizeField));

        Assert.Equal(RecordedMember.Member, headers.Classify(Entry(4096)));
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
    private static byte[] Extended(string records)
    {
        var data = Encoding.ASCII.GetBytes(records);
        return [.. Header('x', data.Length), .. data, .. new byte[TarHeaderEncoder.PaddedLength(data.Length) - data.Length]];
    }

    // A header block as tar writes it: the size in octal (or the field given), a checksum that holds.
    private static byte[] Header(char type, long size, byte[]? sizeField = null)
    {
        var block = new byte[TarHeaderEncoder.BlockSize];
        "holes"u8.CopyTo(block);
        (sizeField ?? Encoding.ASCII.GetBytes(Convert.ToString(size, 8).PadLeft(11, '0'))).CopyTo(block, 124);
        block[156] = (byte)type;
        Encoding.ASCII.GetBytes(Convert.ToString(TarHeaderEncoder.Checksum(block), 8).PadLeft(6, '0') + "\0 ").CopyTo(block, 148);
        return block;
    }
}
