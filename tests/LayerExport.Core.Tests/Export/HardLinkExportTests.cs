using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>Several names of one file: the first carries the data, the others link to it.</summary>
public sealed class HardLinkExportTests : IDisposable
{
    private const string Content = "shared content\n";

    private readonly TestLayerStore _store = new();

    public HardLinkExportTests() =>
        _store.AddLayer("links")
            .File("a/first", Content)
            .HardLink("a/first", "b/second")
            .HardLink("a/first", "c-third")
            .HardLink("a/first", "a-fourth")
            .File("d/single", "not linked\n");

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task LaterNamesLinkToTheFirstName()
    {
        var members = await PythonTarfile.ListAsync(await _store.ExportToFileAsync("links"));

        var first = Assert.Single(members, m => m.Name == "a/first");
        Assert.Equal(('0', (long)Content.Length), (first.Type, first.Size));

        // Every later name points at the first name written, never at another link; 'a-fourth' sorts before
        // 'a/first' as a full path but comes after it in the walk.
        foreach (var name in new[] { "a-fourth", "b/second", "c-third" })
        {
            var link = Assert.Single(members, m => m.Name == name);
            Assert.Equal(('1', "a/first", 0L), (link.Type, link.LinkName, link.Size));
        }

        Assert.Equal('0', Assert.Single(members, m => m.Name == "d/single").Type);
    }

    [Fact]
    public async Task GnuTarExtractsOneFileWithFourNames()
    {
        var archive = await _store.ExportToFileAsync("links");
        var destination = _store.Outputs.Combine("extracted");

        await GnuTar.ExtractAsync(archive, destination);

        var first = Posix.Stat(Path.Combine(destination, "a/first"));
        Assert.Equal(4u, first.NLink);
        Assert.Equal(first.Inode, Posix.Stat(Path.Combine(destination, "b/second")).Inode);
        Assert.Equal(first.Inode, Posix.Stat(Path.Combine(destination, "c-third")).Inode);
        Assert.Equal(first.Inode, Posix.Stat(Path.Combine(destination, "a-fourth")).Inode);
        Assert.Equal(Content, await File.ReadAllTextAsync(Path.Combine(destination, "c-third")));
        Assert.Equal(1u, Posix.Stat(Path.Combine(destination, "d/single")).NLink);
    }
}
