using System.Diagnostics.CodeAnalysis;
using LayerExport.Core.Export;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Export;

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

    private sealed class ListReader(params LayerEntry[] entries) : ILayerEntryReader
    {
        private readonly Queue<LayerEntry> _entries = new(entries);

        public bool TryRead([NotNullWhen(true)] out LayerEntry? entry) => _entries.TryDequeue(out entry);

        public void Dispose()
        {
        }
    }
}
