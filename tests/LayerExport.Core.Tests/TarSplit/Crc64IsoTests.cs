using System.Runtime.Intrinsics.X86;
using System.Text;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>The expected values were computed with Go's hash/crc64 and crc64.MakeTable(crc64.ISO).</summary>
public class Crc64IsoTests
{
    [Theory]
    [InlineData("123456789", 0xB90956C775A41001)]
    [InlineData("", 0x0000000000000000)]
    [InlineData("hi\n", 0x6149981000000000)]
    public void ChecksumIsGos(string text, ulong expected) =>
        Assert.Equal(expected, Crc64Iso.Compute(Encoding.ASCII.GetBytes(text)));

    [Fact]
    public void LongInputAndItsPrefixMatchGo()
    {
        var data = Pattern();

        Assert.Equal(0xF09F27ABFB48E2B4, Crc64Iso.Compute(data));
        Assert.Equal(0xAC3A2EA7493DE4D3, Crc64Iso.Compute(data.AsSpan(0, 13)));
    }

    [Theory]
    [InlineData(1)]
    [InlineData(7)]
    [InlineData(8)]
    [InlineData(4096)]
    [InlineData(65_537)]
    public void AppendingInChunksGivesTheOneShotValue(int chunk)
    {
        var data = Pattern();
        var crc = 0UL;
        for (var offset = 0; offset < data.Length; offset += chunk)
        {
            crc = Crc64Iso.Append(crc, data.AsSpan(offset, Math.Min(chunk, data.Length - offset)));
        }

        Assert.Equal(0xF09F27ABFB48E2B4, crc);
    }

    [Fact]
    public void FoldedInputsOfEveryLengthAndAlignmentGiveTheTablesValue()
    {
        var data = Pattern();
        for (var start = 0; start < 4; start++)
        {
            for (var length = 0; length <= 700; length++)
            {
                var span = data.AsSpan(start, length);
                Assert.Equal(Crc64Iso.AppendByTables(0, span), Crc64Iso.Append(0, span));
                Assert.Equal(Crc64Iso.AppendByTables(0xF09F27ABFB48E2B4, span), Crc64Iso.Append(0xF09F27ABFB48E2B4, span));
            }
        }
    }

    // The test above compares the folded form only where it runs: on an x86 machine that is every one since 2010.
    [Fact]
    public void AnX86MachineFoldsLongInputs() =>
        Assert.True(Pclmulqdq.IsSupported || !X86Base.IsSupported, "without PCLMULQDQ the folded form is not tested here");

    // The same bytes as the Go program: b[i] = byte(i*31 + i/7) for 100,000 bytes.
    private static byte[] Pattern() => [.. Enumerable.Range(0, 100_000).Select(i => (byte)((i * 31) + (i / 7)))];
}
