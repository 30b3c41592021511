using System.Text;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>A layer whose paths are longer than PATH_MAX exports whole, each name in full.</summary>
/// <remarks>
/// The walk opens each child relative to its open parent, so no system call sees a whole path; a walk by full
/// paths (as Go's <c>filepath.Walk</c> does in the peers) fails with ENAMETOOLONG past 4,096 bytes.
/// </remarks>
public sealed class DeepTreeExportTests : IDisposable
{
    private const int Depth = 200;
    private const string Level = "a-directory-name-of-thirty-two-";
    private const string Content = "at the bottom\n";

    // Made and removed by Python through directory descriptors: a call by full path would fail here, .NET's own too.
    private const string Build = """
        import os, sys
        fd = os.open(sys.argv[1], os.O_RDONLY | os.O_DIRECTORY)
        for _ in range(int(sys.argv[2])):
            os.mkdir(sys.argv[3], 0o755, dir_fd=fd)
            child = os.open(sys.argv[3], os.O_RDONLY | os.O_DIRECTORY, dir_fd=fd)
            os.close(fd)
            fd = child
        leaf = os.open("leaf", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
        os.write(leaf, sys.argv[4].encode())
        os.close(leaf)
        """;

    private const string Remove = "import shutil, sys; shutil.rmtree(sys.argv[1])";

    private readonly TestLayerStore _store = new();
    private readonly string _top;

    public DeepTreeExportTests()
    {
        var layer = _store.AddLayer("deep");
        _top = layer.PathOf(Level);
        Directory.CreateDirectory(_top);
        ExternalTool.RunCheckedAsync("python3", "-c", Build, _top, (Depth - 1).ToString(), Level, Content).GetAwaiter().GetResult();
    }

    private static string Deepest => string.Concat(Enumerable.Repeat(Level + "/", Depth)) + "leaf";

    public void Dispose()
    {
        ExternalTool.RunCheckedAsync("python3", "-c", Remove, _top).GetAwaiter().GetResult();
        _store.Dispose();
    }

    [Fact]
    public async Task EveryLevelAndTheFileBelowThemAreExportedUnderTheirWholeNames()
    {
        Assert.True(Encoding.UTF8.GetByteCount(Deepest) > 4096, "the deepest path must be longer than PATH_MAX");
        var archive = await _store.ExportToFileAsync("deep");

        var members = await PythonTarfile.ListAsync(archive);
        Assert.Equal(Depth + 1, members.Count);
        Assert.All(members.Take(Depth), m => Assert.Equal('5', m.Type));
        var leaf = members[^1];
        Assert.Equal((Deepest, '0', (long)Content.Length), (leaf.Name, leaf.Type, leaf.Size));

        Assert.Equal(members.Select(m => m.Type == '5' ? m.Name + "/" : m.Name), await GnuTar.ListNamesAsync(archive));
        var extracted = await ExternalTool.RunCheckedAsync("tar", "-xOf", archive, Deepest);
        Assert.Equal(Content, extracted.StdoutText);
    }
}
