using System.Diagnostics.CodeAnalysis;
using LayerExport.Core.Export;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Export;

/// <summary>A layer's survey: the tar's length, and the entries that cannot be in a tar failing it.</summary>
public sealed class LayerSurveyTests
{
    [Fact]
    public void SurveySizeIsHeaderDataPaddingAndEndBlocks()
    {
        var header = new TarEntryHeader { Name = "dir/f"u8.ToArray(), Type = TarEntryType.RegularFile, Size = 700 };
        using var reader = new ListReader(new LayerEntry(header));

        var survey = LayerSurvey.Take(reader, CancellationToken.None);

        Assert.Equal(1, survey.Entries);
        Assert.Equal(512 + 1024 + 1024, survey.TarSize);
    }

    [Fact]
    public void HeaderThatCannotBeEncodedFailsTheSurveyAsThatEntry()
    {
        var header = new TarEntryHeader
        {
            Name = "dir/f"u8.ToArray(),
            Type = TarEntryType.RegularFile,
            Xattrs = [new Xattr("user.a=b"u8.ToArray(), "x"u8.ToArray())],
        };
        using var reader = new ListReader(new LayerEntry(header));

        var failure = Assert.Throws<LayerExportException>(() => LayerSurvey.Take(reader, CancellationToken.None));

        Assert.Equal("dir/f", failure.Path);
        Assert.IsType<TarEncodingException>(failure.InnerException);
    }

    [Theory]
    [InlineData(long.MaxValue)]
    [InlineData(long.MaxValue - 511)]
    [InlineData(long.MaxValue - 1023)]
    public void AnEntryLongerThanATarCanBeFailsTheSurveyAsThatEntry(long size)
    {
        using var reader = new ListReader(File("small", 10), File("huge", size), File("after", 10));

        var failure = Assert.Throws<LayerExportException>(() => LayerSurvey.Take(reader, CancellationToken.None));

        Assert.Equal("huge", failure.Path);
        Assert.Contains("the tar would be longer than 9223372036854775807 bytes", failure.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void EntriesThatAddUpToMoreThanATarCanBeFailTheSurveyRatherThanWrapping()
    {
        // Four times 2^62 is 2^64, which an unchecked sum wraps to the headers alone.
        using var reader = new ListReader(File("f0", 1L << 62), File("f1", 1L << 62), File("f2", 1L << 62), File("f3", 1L << 62));

        var failure = Assert.Throws<LayerExportException>(() => LayerSurvey.Take(reader, CancellationToken.None));

        Assert.Equal("f1", failure.Path);
        Assert.IsType<TarEncodingException>(failure.InnerException);
    }

    [Fact]
    public void ATarAsLongAsALongCanCountIsSurveyedAndOneByteMoreIsNot()
    {
        // The longest whole number of blocks; the file's entry adds a PAX block, its data and the header block,
        // the tar its two end blocks.
        const long Longest = long.MaxValue / 512 * 512;
        using var fits = new ListReader(File("big", Longest - 2560));
        using var overflows = new ListReader(File("big", Longest - 2559));

        Assert.Equal(Longest, LayerSurvey.Take(fits, CancellationToken.None).TarSize);
        Assert.Equal("big", Assert.Throws<LayerExportException>(() => LayerSurvey.Take(overflows, CancellationToken.None)).Path);
    }

    [Fact]
    public void ACancelledSurveyStopsAtTheNextEntry()
    {
        using var reader = new ListReader(File("a", 10), File("b", 10));

        Assert.Throws<OperationCanceledException>(() => LayerSurvey.Take(reader, new CancellationToken(canceled: true)));
    }

    private static LayerEntry File(string name, long size) =>
        new(new TarEntryHeader { Name = System.Text.Encoding.ASCII.GetBytes(name), Type = TarEntryType.RegularFile, Size = size });

    private sealed class ListReader(params LayerEntry[] entries) : ILayerEntryReader
    {
        private readonly Queue<LayerEntry> _entries = new(entries);

        public bool TryRead([NotNullWhen(true)] out LayerEntry? entry) => _entries.TryDequeue(out entry);

        public void Dispose()
        {
        }
    }
}
