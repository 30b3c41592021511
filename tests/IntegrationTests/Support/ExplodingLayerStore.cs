using LayerExport.Core.Store;

namespace IntegrationTests.Support;

/// <summary>A store whose Describe fails with something no handler expects: by default an <see cref="InvalidOperationException"/> naming <see cref="Secret"/>.</summary>
internal sealed class ExplodingLayerStore(ILayerStore inner, Func<Exception>? failure = null) : ILayerStore
{
    public const string Secret = "internal detail /srv/secret";

    public LayerStoreLayout Layout => inner.Layout;

    public IReadOnlyList<LayerSummary> List() => inner.List();

    public LayerDescription Describe(LayerId id) => throw (failure?.Invoke() ?? new InvalidOperationException(Secret));

    public ILayerContent Open(LayerId id) => inner.Open(id);
}
