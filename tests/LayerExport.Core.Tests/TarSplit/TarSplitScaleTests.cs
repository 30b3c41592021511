using System.Text;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>A record far larger than the sample layers is reassembled whole.</summary>
public sealed class TarSplitScaleTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("layerexport-tarsplit-scale-").FullName;

    [Fact]
    public async Task ARecordOfMoreThanAHundredThousandEntriesIsReassembled()
    {
        const int Pairs = 60_000;
        var content = Encoding.ASCII.GetBytes("file\n");
        Directory.CreateDirectory(Path.Combine(_directory, "d"));
        File.WriteAllBytes(Path.Combine(_directory, "d", "f"), content);
        var random = new Random(11);
        var lines = new List<string>(2 * Pairs);
        var expected = new MemoryStream();
        for (var i = 0; i < Pairs; i++)
        {
            var segment = new byte[1 + random.Next(64)];
            random.NextBytes(segment);
            lines.Add(SyntheticRecord.Segment(segment, 2 * i));
            lines.Add(SyntheticRecord.File("./d/f", content, (2 * i) + 1));
            expected.Write(segment);
            expected.Write(content);
        }

        var compressed = SyntheticRecord.Compress(lines);

        var result = await Reassembly.RunAsync(_directory, () => SyntheticRecord.Open(compressed), expected: null, onFirstData: null);

        Assert.Null(result.Error);
        Assert.Equal(Pairs, result.Summary!.Entries);
        Assert.True(expected.ToArray().AsSpan().SequenceEqual(result.Received), "the reassembled bytes differ");
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
