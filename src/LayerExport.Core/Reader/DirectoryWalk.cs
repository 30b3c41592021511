using LayerExport.Core.Native;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace LayerExport.Core.Reader;

/// <summary>The depth-first loop shared by the walks of a layer's directories: one frame per open directory.</summary>
/// <remarks>
/// Entries a walk queues while it enters a directory (an opaque marker, whiteouts) come out before that
/// directory's children; a child that yields no entry is passed over, so one read may pass over many children:
/// the walk looks at its cancellation before each one. A failure names the child's path.
/// </remarks>
/// <typeparam name="TFrame">What the walk keeps per open directory.</typeparam>
/// <typeparam name="TChild">One listed child of a directory.</typeparam>
/// <param name="cancellationToken">Stops the walk: its owner cancels it to end a read that is under way.</param>
internal abstract class DirectoryWalk<TFrame, TChild>(CancellationToken cancellationToken) : ILayerEntryReader
    where TFrame : DirectoryWalk<TFrame, TChild>.Frame
{
    /// <summary>Stops the walk; long work inside one child (a listing, a comparison) looks at it too.</summary>
    protected CancellationToken Cancellation { get; } = cancellationToken;

    /// <summary>The open directories, innermost on top.</summary>
    protected Stack<TFrame> Frames { get; } = new();

    /// <summary>Entries to emit before the next child.</summary>
    protected Queue<LayerEntry> Pending { get; } = new();

    /// <inheritdoc />
    public bool TryRead([NotNullWhen(true)] out LayerEntry? entry)
    {
        if (Pending.TryDequeue(out entry))
        {
            return true;
        }

        while (Frames.TryPeek(out var frame))
        {
            Cancellation.ThrowIfCancellationRequested();
            if (frame.Next >= frame.Children.Count)
            {
                Frames.Pop().Dispose();
                continue;
            }

            var child = frame.Children[frame.Next++];
            byte[] path = [.. frame.Prefix, .. NameOf(child)];
            try
            {
                entry = ReadChild(frame, child, path);
            }
            catch (Exception e) when (e is not LayerExportException and not OperationCanceledException)
            {
                // An error about the entry's own name is told without it: the entry path comes first already.
                var reason = e is NativeIOException native && native.Name == Encoding.UTF8.GetString(NameOf(child)) ? Libc.Describe(native.Errno) : e.Message;
                throw new LayerExportException(Encoding.UTF8.GetString(path), reason, e);
            }

            if (entry is not null || Pending.TryDequeue(out entry))
            {
                return true;
            }
        }

        entry = null;
        return false;
    }

    /// <inheritdoc />
    public void Dispose()
    {
        while (Frames.TryPop(out var frame))
        {
            frame.Dispose();
        }

        while (Pending.TryDequeue(out var entry))
        {
            entry.Dispose();
        }
    }

    /// <summary>The child's name within its directory.</summary>
    protected abstract byte[] NameOf(TChild child);

    /// <summary>The entry for one child at <paramref name="path"/>, or null when it yields none; may push a frame or queue entries.</summary>
    protected abstract LayerEntry? ReadChild(TFrame frame, TChild child, byte[] path);

    /// <summary>One open directory: its path prefix, its sorted children and how far the walk got.</summary>
    internal abstract class Frame(byte[] prefix, List<TChild> children) : IDisposable
    {
        public byte[] Prefix { get; } = prefix;

        public List<TChild> Children { get; } = children;

        public int Next { get; set; }

        public abstract void Dispose();
    }
}
