using System.Threading.Channels;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;

namespace IntegrationTests.Support;

/// <summary>
/// The real store, except that reading the content of the entry named <paramref name="blockedEntry"/> waits until
/// the test calls <see cref="Release"/>: an export that is deterministically in the middle of its body. The first
/// <paramref name="passFirst"/> exports to reach it read on without waiting.
/// </summary>
internal sealed class BlockingLayerStore(ILayerStore inner, string blockedEntry, int passFirst = 0) : ILayerStore
{
    private int _reached;
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Channel<bool> _entered = Channel.CreateUnbounded<bool>();

    public string BlockedEntry => blockedEntry;

    public LayerStoreLayout Layout => inner.Layout;

    public IReadOnlyList<LayerSummary> List() => inner.List();

    public LayerDescription Describe(LayerId id) => inner.Describe(id);

    public ILayerContent Open(LayerId id) => new Content(inner.Open(id), this);

    /// <summary>Waits until <paramref name="count"/> more exports are held at the blocked entry.</summary>
    public async Task WaitUntilHeldAsync(int count = 1)
    {
        using var deadline = new CancellationTokenSource(CapturedLogs.SafetyTimeout);
        for (var i = 0; i < count; i++)
        {
            var entered = await Record.ExceptionAsync(async () => await _entered.Reader.ReadAsync(deadline.Token));
            Assert.True(entered is null, $"only {i} of {count} exports reached {blockedEntry}");
        }
    }

    /// <summary>Lets every held export, and every later one, read on.</summary>
    public void Release() => _released.TrySetResult();

    private void Hold()
    {
        if (Interlocked.Increment(ref _reached) <= passFirst)
        {
            return;
        }

        _entered.Writer.TryWrite(true);
        if (!_released.Task.Wait(CapturedLogs.SafetyTimeout))
        {
            throw new IOException($"the test never released {blockedEntry}");
        }
    }

    private sealed class Content(ILayerContent content, BlockingLayerStore store) : ILayerContent
    {
        public ILayerEntryReader CreateReader(CancellationToken cancellationToken) => new Reader(content.CreateReader(cancellationToken), store);

        public ILayerEntryReader CreateMetadataReader(CancellationToken cancellationToken) => content.CreateMetadataReader(cancellationToken);

        public void Dispose() => content.Dispose();
    }

    private sealed class Reader(ILayerEntryReader reader, BlockingLayerStore store) : ILayerEntryReader
    {
        public bool TryRead([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LayerEntry? entry)
        {
            if (!reader.TryRead(out entry))
            {
                return false;
            }

            if (entry.DisplayPath == store.BlockedEntry && entry.Content is { } content)
            {
                entry = new LayerEntry(entry.Header, new HeldContent(content, store)) { Identity = entry.Identity };
            }

            return true;
        }

        public void Dispose() => reader.Dispose();
    }

    private sealed class HeldContent(IEntryContent content, BlockingLayerStore store) : IEntryContent
    {
        private bool _held;

        public int Read(Span<byte> destination, long offset)
        {
            if (!_held)
            {
                _held = true;
                store.Hold();
            }

            return content.Read(destination, offset);
        }

        public void Dispose() => content.Dispose();
    }
}
