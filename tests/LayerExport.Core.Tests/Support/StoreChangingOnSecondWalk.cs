using LayerExport.Core.Reader;
using LayerExport.Core.Store;

namespace LayerExport.Core.Tests.Support;

/// <summary>A store whose opened layer changes just before its second metadata walk: the walk that judges a failed survey or export.</summary>
/// <remarks>Also compiled into the integration tests, which decorate the server's own store with it.</remarks>
internal sealed class StoreChangingOnSecondWalk(ILayerStore inner, Action change) : ILayerStore
{
    public LayerStoreLayout Layout => inner.Layout;

    public LayerId ParseId(string? text) => inner.ParseId(text);

    public IReadOnlyList<LayerSummary> List() => inner.List();

    public LayerDescription Describe(LayerId id) => inner.Describe(id);

    public ILayerContent Open(LayerId id) => new Content(inner.Open(id), change);

    private sealed class Content(ILayerContent content, Action change) : ILayerContent
    {
        private int _walks;

        public RecordedTar? Recorded => content.Recorded;

        public ILayerEntryReader CreateReader(CancellationToken cancellationToken) => content.CreateReader(cancellationToken);

        public ILayerEntryReader CreateMetadataReader(CancellationToken cancellationToken)
        {
            if (++_walks == 2)
            {
                change();
            }

            return content.CreateMetadataReader(cancellationToken);
        }

        public void Dispose() => content.Dispose();
    }
}
