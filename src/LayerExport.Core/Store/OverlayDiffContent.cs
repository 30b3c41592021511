using LayerExport.Core.Native;
using LayerExport.Core.Reader;

namespace LayerExport.Core.Store;

/// <summary>An opened overlay-form <c>diff/</c> directory, with the original tar's record when the store kept one.</summary>
internal sealed class OverlayDiffContent(FileDescriptor diff, RecordedTar? recorded = null, IDisposable? alsoOwned = null) : ILayerContent
{
    /// <inheritdoc />
    public RecordedTar? Recorded => recorded;

    /// <inheritdoc />
    public ILayerEntryReader CreateReader() => new OverlayDiffReader(diff, openContent: true);

    /// <inheritdoc />
    public ILayerEntryReader CreateMetadataReader() => new OverlayDiffReader(diff, openContent: false);

    /// <inheritdoc />
    public void Dispose()
    {
        diff.Dispose();
        alsoOwned?.Dispose();
    }
}
