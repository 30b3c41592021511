namespace LayerExport.Core.Reader;

/// <summary>Yields a layer's entries in tar order.</summary>
public interface ILayerEntryReader : IDisposable
{
    /// <summary>Moves to the next entry; false at the end. The caller disposes each entry.</summary>
    bool TryRead([System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out LayerEntry? entry);

    /// <summary>The next entry, or null at the end; a reader that works ahead waits here without blocking a thread.</summary>
    ValueTask<LayerEntry?> ReadAsync(CancellationToken cancellationToken) =>
        ValueTask.FromResult(TryRead(out var entry) ? entry : null);
}
