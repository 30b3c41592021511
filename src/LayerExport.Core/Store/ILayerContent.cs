using LayerExport.Core.Reader;

namespace LayerExport.Core.Store;

/// <summary>An opened layer, ready to be read.</summary>
public interface ILayerContent : IDisposable
{
    /// <summary>A fresh reader over the layer's entries, with each regular file opened for its content.</summary>
    /// <param name="cancellationToken">Ends a read under way: one read may pass over many unchanged files.</param>
    ILayerEntryReader CreateReader(CancellationToken cancellationToken);

    /// <summary>A fresh reader that describes every entry without opening any file: for sizes and fingerprints.</summary>
    /// <param name="cancellationToken">Ends a read under way: one read may pass over many unchanged files.</param>
    ILayerEntryReader CreateMetadataReader(CancellationToken cancellationToken);

    /// <summary>The original tar's record, when the store kept one; the export then reproduces those exact bytes.</summary>
    RecordedTar? Recorded => null;
}
