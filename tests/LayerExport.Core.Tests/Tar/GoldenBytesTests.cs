using System.Buffers;
using System.Text;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Tar;

/// <summary>Our encoder writes the very bytes Go's archive/tar writes for the same layer entries.</summary>
public sealed class GoldenBytesTests(GoTarFixture go) : IClassFixture<GoTarFixture>
{
    [Theory]
    [MemberData(nameof(GoldenCases.Names), MemberType = typeof(GoldenCases))]
    public async Task EncoderWritesTheBytesGoWrites(string name)
    {
        var entries = GoldenCases.Get(name);

        var reference = await go.WriteAsync(entries);

        Assert.True(reference.ExitCode == 0, $"the Go reference failed on '{name}': {reference.Error}");
        TarBytesComparison.AssertEqual(reference.Output, Encode(entries));
    }

    [Theory]
    [MemberData(nameof(GoldenCases.Names), MemberType = typeof(GoldenCases))]
    public void EncodedLengthIsWhatWriteWrites(string name)
    {
        foreach (var entry in GoldenCases.Get(name))
        {
            var output = new ArrayBufferWriter<byte>();

            var returned = TarHeaderEncoder.Write(entry.Header, output);

            Assert.Equal(output.WrittenCount, returned);
            Assert.Equal(returned, TarHeaderEncoder.EncodedLength(entry.Header));
        }
    }

    [Theory]
    [MemberData(nameof(GoldenCases.RejectedNames), MemberType = typeof(GoldenCases))]
    public async Task EncoderRejectsWhatGoRejects(string name)
    {
        var header = GoldenCases.GetRejected(name);

        var reference = await go.WriteAsync([new GoldenEntry(header)]);

        Assert.True(reference.ExitCode != 0, $"Go accepted '{name}', so the encoder should too");
        Assert.Contains("gotar: entry 0:", reference.Error, StringComparison.Ordinal);
        var error = Assert.Throws<TarEncodingException>(() => TarHeaderEncoder.Write(header, new ArrayBufferWriter<byte>()));
        Assert.Throws<TarEncodingException>(() => TarHeaderEncoder.EncodedLength(header));

        // The export's failure names the entry whose header could not be written.
        Assert.StartsWith(Encoding.UTF8.GetString(header.Name) + ": ", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ComparisonNamesTheFirstDifferingOffsetAndField()
    {
        var entries = GoldenCases.Get("whole archive of several entries");
        var reference = (await go.WriteAsync(entries)).Output;
        var altered = reference.ToArray();
        altered[(3 * TarHeaderEncoder.BlockSize) + 110] ^= 1;

        var description = TarBytesComparison.Describe(reference, altered);

        Assert.NotNull(description);
        Assert.Contains("offset 1646: block 3 (bytes 1536..2047), byte 110 of it, the 'uid' field", description, StringComparison.Ordinal);
        Assert.Null(TarBytesComparison.Describe(reference, reference.ToArray()));
    }

    // Header, data and padding of each entry, then the end of the archive; a header-only case stops after its header.
    private static byte[] Encode(IReadOnlyList<GoldenEntry> entries)
    {
        var output = new ArrayBufferWriter<byte>();
        foreach (var entry in entries)
        {
            TarHeaderEncoder.Write(entry.Header, output);
            if (entry.HeaderOnly)
            {
                return output.WrittenSpan.ToArray();
            }

            output.Write(entry.Data);
            TarHeaderEncoder.WritePadding(entry.Data.Length, output);
        }

        output.Write(TarHeaderEncoder.EndOfArchive.Span);
        return output.WrittenSpan.ToArray();
    }
}
