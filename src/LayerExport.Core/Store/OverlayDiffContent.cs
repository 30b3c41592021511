using LayerExport.Core.Native;
using LayerExport.Core.Reader;

namespace LayerExport.Core.Store;

/// <summary>An opened overlay-form <c>diff/</c> directory, with the original tar's record when the store kept one.</summary>
internal sealed class OverlayDiffContent(FileDescriptor diff, RecordedTar? recorded = null, IDisposable? alsoOwned = null) : ILayerContent
{
    /// <inheritdoc />
    public RecordedTar? Recorded => recorded;

    /// <inheritdoc />
    public ILayerEntryReader CreateReader(CancellationToken cancellationToken) => new OverlayDiffReader(diff, openContent: true, cancellationToken);

    /// <inheritdoc />
    public ILayerEntryReader CreateMetadataReader(CancellationToken cancellationToken) => new OverlayDiffReader(diff, openContent: false, cancellationToken);

    /// <inheritdoc />
    public void Dispose()
    {
        diff.Dispose();
        alsoOwned?.Dispose();
    }
}
