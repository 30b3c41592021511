using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Reader;

/// <summary>A layer walk looks at its cancellation while it goes through a directory's listing, not only between entries.</summary>
public sealed class ListingCancellationTests : IDisposable
{
    private readonly TempDirectory _diff = new();

    public void Dispose() => _diff.Dispose();

    [Fact]
    public void ACancelledWalkStopsWhileListingTheLayerRoot()
    {
        // Listing the root is the walk's first step, before any entry is read: every name of a directory is looked
        // at (whiteout or not) before its first child comes out, which in a huge directory takes long.
        new LayerTree(_diff.Path).File("a", "a\n").File("b", "b\n");
        using var diff = FileDescriptor.OpenDirectory(_diff.Path);
        using var cancellation = new CancellationTokenSource();
        cancellation.Cancel();

        var error = Record.Exception(() => new OverlayDiffReader(diff, openContent: true, cancellation.Token).Dispose());

        Assert.IsAssignableFrom<OperationCanceledException>(error);
    }
}
