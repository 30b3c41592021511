using LayerExport.Core.Reader;
using LayerExport.Core.Store;

namespace IntegrationTests.Support;

/// <summary>
/// The real store, except that the content of the entry named <paramref name="failingEntry"/> throws an
/// <see cref="IOException"/> when read, as a disk error would, after every entry before it went out intact. With
/// <paramref name="beforeEntry"/>, the walk itself fails on reaching that entry, before its header: a failure
/// between two entries, as a directory that can no longer be listed gives.
/// </summary>
internal sealed class FailingLayerStore(ILayerStore inner, string failingEntry, bool beforeEntry = false) : ILayerStore
{
    public const string InjectedMessage = "injected read error";

    public LayerStoreLayout Layout => inner.Layout;

    public IReadOnlyList<LayerSummary> List() => inner.List();

    public LayerDescription Describe(LayerId id) => inner.Describe(id);

    public ILayerContent Open(LayerId id) => new Content(inner.Open(id), failingEntry, beforeEntry);

    private sealed class Content(ILayerContent content, string failingEntry, bool beforeEntry) : ILayerContent
    {
        public ILayerEntryReader CreateReader(CancellationToken cancellationToken) => new Reader(content.CreateReader(cancellationToken), failingEntry, beforeEntry);

        public ILayerEntryReader CreateMetadataReader(CancellationToken cancellationToken) => content.CreateMetadataReader(cancellationToken);

        public void Dispose() => content.Dispose();
    }

    private sealed class Reader(ILayerEntryReader reader, string failingEntry, bool beforeEntry) : ILayerEntryReader
    {
        public bool TryRead([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LayerEntry? entry)
        {
            if (!reader.TryRead(out entry))
            {
                return false;
            }

            if (entry.DisplayPath == failingEntry)
            {
                entry.Dispose();
                if (beforeEntry)
                {
                    throw new IOException(InjectedMessage);
                }

                entry = new LayerEntry(entry.Header, new ThrowingContent());
            }

            return true;
        }

        public void Dispose() => reader.Dispose();
    }

    private sealed class ThrowingContent : IEntryContent
    {
        public int Read(Span<byte> destination, long offset) => throw new IOException(InjectedMessage);

        public void Dispose()
        {
        }
    }
}
