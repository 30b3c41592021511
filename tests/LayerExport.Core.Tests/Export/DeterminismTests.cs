using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>A layer exports to the same bytes every time, ending in exactly two zero blocks.</summary>
public sealed class DeterminismTests : IDisposable
{
    private const int Block = 512;

    private readonly TestLayerStore _store = new();
    private readonly TestLayerStore _copy = new();

    public DeterminismTests()
    {
        SampleLayer.Build(_store.AddLayer("sample"));
        SampleLayer.Build(_copy.AddLayer("sample"));
    }

    public void Dispose()
    {
        _store.Dispose();
        _copy.Dispose();
    }

    [Fact]
    public async Task TwoExportsOfOneLayerAreIdentical()
    {
        var first = await _store.ExportAsync("sample");
        var second = await _store.ExportAsync("sample");

        Assert.True(first.AsSpan().SequenceEqual(second), "the two exports differ");
    }

    [Fact]
    public async Task TheSameTreeInAnotherStoreExportsIdentically()
    {
        // Other paths and other inode numbers; nothing of either may reach the archive.
        var first = await _store.ExportAsync("sample");
        var second = await _copy.ExportAsync("sample");

        Assert.True(first.AsSpan().SequenceEqual(second), "the exports of the two copies differ");
    }

    [Fact]
    public async Task ArchiveEndsWithExactlyTwoZeroBlocks()
    {
        using var output = new MemoryStream();
        var summary = await TarExport.ToStreamAsync(_store.Root, "sample", output, CancellationToken.None);
        var archive = output.ToArray();

        Assert.Equal(0, archive.Length % Block);
        Assert.Equal(archive.Length, summary.Bytes);
        Assert.Equal(DotNetTar.List(archive).Count, summary.Entries);
        Assert.False(archive.AsSpan(archive.Length - (2 * Block)).ContainsAnyExcept((byte)0), "the last two blocks are not zero");

        // The block before them is the last entry's, not padding to a 10 KiB record.
        Assert.True(archive.AsSpan(archive.Length - (3 * Block), Block).ContainsAnyExcept((byte)0), "more than two zero blocks at the end");
    }
}
