using LayerExport.Core.Native;
using System.Diagnostics.CodeAnalysis;
using System.Text;

namespace LayerExport.Core.Reader;

/// <summary>The depth-first loop shared by the walks of a layer's directories: one frame per directory entered.</summary>
/// <remarks>
/// Entries a walk queues while it enters a directory (an opaque marker, whiteouts) come out before that
/// directory's children; a child that yields no entry is passed over, so one read may pass over many children:
/// the walk looks at its cancellation before each one. A failure names the child's path.
/// Only the innermost <see cref="OpenFramesAtMost"/> frames keep their directories open, so a walk holds a bounded
/// number of descriptors however deep the tree (a layer may nest thousands of directories): a frame further out
/// closes its directories and opens them again as <c>..</c> of the frame above it once the walk returns to it,
/// refusing anything but the very directories it closed, as a walk holding them open would have read them.
/// </remarks>
/// <typeparam name="TFrame">What the walk keeps per directory entered.</typeparam>
/// <typeparam name="TChild">One listed child of a directory.</typeparam>
/// <param name="cancellationToken">Stops the walk: its owner cancels it to end a read that is under way.</param>
internal abstract class DirectoryWalk<TFrame, TChild>(CancellationToken cancellationToken) : ILayerEntryReader
    where TFrame : DirectoryWalk<TFrame, TChild>.Frame
{
    /// <summary>Frames, innermost first, whose directories stay open.</summary>
    internal const int OpenFramesAtMost = 32;

    // The entered directories, innermost last; the frames below _openFrom have closed what they could.
    private readonly List<TFrame> _frames = [];
    private int _openFrom;

    /// <summary>Stops the walk; long work inside one child (a listing, a comparison) looks at it too.</summary>
    protected CancellationToken Cancellation { get; } = cancellationToken;

    /// <summary>Entries to emit before the next child.</summary>
    protected Queue<LayerEntry> Pending { get; } = new();

    /// <inheritdoc />
    public bool TryRead([NotNullWhen(true)] out LayerEntry? entry)
    {
        if (Pending.TryDequeue(out entry))
        {
            return true;
        }

        while (_frames.Count > 0)
        {
            Cancellation.ThrowIfCancellationRequested();
            var frame = _frames[^1];
            if (frame.Next >= frame.Children.Count)
            {
                Leave(frame);
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
                var reason = e is NativeIOException native && native.Name == Encoding.UTF8.GetString(NameOf(child)) ? native.Reason : e.Message;
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
        for (var i = _frames.Count - 1; i >= 0; i--)
        {
            _frames[i].Dispose();
        }

        _frames.Clear();

        while (Pending.TryDequeue(out var entry))
        {
            entry.Dispose();
        }
    }

    /// <summary>Enters a directory: its frame becomes the innermost, and the frames too far out close their directories.</summary>
    protected void Push(TFrame frame)
    {
        _frames.Add(frame);
        while (_frames.Count - _openFrom > OpenFramesAtMost)
        {
            _frames[_openFrom].Park(_frames[_openFrom + 1]);
            _openFrom++;
        }
    }

    /// <summary>The child's name within its directory.</summary>
    protected abstract byte[] NameOf(TChild child);

    /// <summary>The entry for one child at <paramref name="path"/>, or null when it yields none; may push a frame or queue entries.</summary>
    protected abstract LayerEntry? ReadChild(TFrame frame, TChild child, byte[] path);

    // Done with the innermost frame: the one it returns to opens its directories again first, through this one's.
    private void Leave(TFrame done)
    {
        _frames.RemoveAt(_frames.Count - 1);
        try
        {
            if (_frames.Count > 0 && _frames[^1].Parked)
            {
                try
                {
                    _frames[^1].Resume(done);
                }
                catch (Exception e) when (e is not LayerExportException and not OperationCanceledException)
                {
                    throw new LayerExportException(Encoding.UTF8.GetString(_frames[^1].Prefix), e.Message, e);
                }
            }
        }
        finally
        {
            done.Dispose();
            _openFrom = Math.Min(_openFrom, Math.Max(_frames.Count - 1, 0));
        }
    }

    /// <summary>One entered directory: its path prefix, its sorted children, how far the walk got, and its descriptors.</summary>
    /// <param name="prefix">The directory's path with a trailing '/', empty for the layer root.</param>
    /// <param name="children">The children still to read, sorted.</param>
    /// <param name="directories">What the walk reads the children through: one directory, or a layer's and its parent tree's (null where the parent tree has none).</param>
    internal abstract class Frame(byte[] prefix, List<TChild> children, params ParkedDirectory?[] directories) : IDisposable
    {
        public byte[] Prefix { get; } = prefix;

        public List<TChild> Children { get; } = children;

        public int Next { get; set; }

        /// <summary>Whether <see cref="Park"/> closed directories that <see cref="Resume"/> has not opened again.</summary>
        public bool Parked { get; protected set; }

        /// <summary>The directories, by position; the frame above has its counterparts at the same positions.</summary>
        internal ParkedDirectory?[] Directories { get; } = directories;

        /// <summary>Closes each directory this frame owns that can be opened again as <c>..</c> of <paramref name="inner"/>'s counterpart.</summary>
        /// <remarks>
        /// Where the inner frame has no counterpart (below a directory only the layer has, the parent tree has
        /// nothing) the directory stays open: along the walk's path one such directory stays at most.
        /// </remarks>
        public virtual void Park(TFrame inner)
        {
            for (var i = 0; i < Directories.Length; i++)
            {
                if (Directories[i] is { } directory && inner.Directories[i] is { IsParked: false })
                {
                    Parked |= directory.Park();
                }
            }
        }

        /// <summary>Opens the closed directories again as <c>..</c> of <paramref name="inner"/>'s counterparts, refusing any other directory.</summary>
        /// <exception cref="LayerChangedException">Another directory stands there now: one was moved during the walk.</exception>
        public virtual void Resume(TFrame inner)
        {
            for (var i = 0; i < Directories.Length; i++)
            {
                if (Directories[i] is { IsParked: true } directory)
                {
                    directory.Resume(inner.Directories[i]!.Descriptor);
                }
            }

            Parked = false;
        }

        public virtual void Dispose()
        {
            foreach (var directory in Directories)
            {
                directory?.Dispose();
            }
        }
    }
}
