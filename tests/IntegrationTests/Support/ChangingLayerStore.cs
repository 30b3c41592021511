using LayerExport.Core.Reader;
using LayerExport.Core.Store;

namespace IntegrationTests.Support;

/// <summary>Passes everything to the real store, and runs a change once, as the first export's reader is made: after the survey, before the check that follows the bytes.</summary>
internal sealed class ChangingLayerStore(ILayerStore inner, Action change) : ILayerStore
{
    private int _changed;

    public LayerStoreLayout Layout => inner.Layout;

    public IReadOnlyList<LayerSummary> List() => inner.List();

    public LayerDescription Describe(LayerId id) => inner.Describe(id);

    public ILayerContent Open(LayerId id) => new ChangingContent(inner.Open(id), this);

    private sealed class ChangingContent(ILayerContent content, ChangingLayerStore store) : ILayerContent
    {
        public RecordedTar? Recorded => content.Recorded;

        public ILayerEntryReader CreateReader(CancellationToken cancellationToken)
        {
            if (Interlocked.Exchange(ref store._changed, 1) == 0)
            {
                store.Change();
            }

            return content.CreateReader(cancellationToken);
        }

        public ILayerEntryReader CreateMetadataReader(CancellationToken cancellationToken) => content.CreateMetadataReader(cancellationToken);

        public void Dispose() => content.Dispose();
    }

    private void Change() => change();
}
