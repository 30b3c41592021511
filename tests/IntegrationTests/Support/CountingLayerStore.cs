using LayerExport.Core.Reader;
using LayerExport.Core.Store;

namespace IntegrationTests.Support;

/// <summary>Passes everything to the real store and counts how often an opened layer's entries are read.</summary>
internal sealed class CountingLayerStore(ILayerStore inner) : ILayerStore
{
    private int _readersCreated;
    private int _metadataReadersCreated;
    private int _openLayers;

    /// <summary>How many times <see cref="ILayerContent.CreateReader"/> was called on any opened layer.</summary>
    public int ReadersCreated => Volatile.Read(ref _readersCreated);

    /// <summary>How many metadata walks (surveys) were started on any opened layer.</summary>
    public int MetadataReadersCreated => Volatile.Read(ref _metadataReadersCreated);

    /// <summary>How many opened layers are not disposed yet.</summary>
    public int OpenLayers => Volatile.Read(ref _openLayers);

    public LayerStoreLayout Layout => inner.Layout;

    public IReadOnlyList<LayerSummary> List() => inner.List();

    public LayerDescription Describe(LayerId id) => inner.Describe(id);

    public ILayerContent Open(LayerId id)
    {
        var content = new CountingContent(inner.Open(id), this);
        Interlocked.Increment(ref _openLayers);
        return content;
    }

    private sealed class CountingContent(ILayerContent content, CountingLayerStore store) : ILayerContent
    {
        public ILayerEntryReader CreateReader(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref store._readersCreated);
            return content.CreateReader(cancellationToken);
        }

        public ILayerEntryReader CreateMetadataReader(CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref store._metadataReadersCreated);
            return content.CreateMetadataReader(cancellationToken);
        }

        private int _disposed;

        public void Dispose()
        {
            if (Interlocked.Exchange(ref _disposed, 1) == 0)
            {
                Interlocked.Decrement(ref store._openLayers);
            }

            content.Dispose();
        }
    }
}
