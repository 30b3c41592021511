using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Reader;

/// <summary>
/// The loop both layer walks share, driven by a scripted walk: queued entries come before the next child, a child
/// that yields nothing is passed over, the cancellation is looked at before every child, a failure names the
/// child's path, and whatever is still open or queued is closed on dispose.
/// </summary>
public sealed class DirectoryWalkTests
{
    private readonly List<string> _closed = [];

    [Fact]
    public void QueuedEntriesComeOutBeforeTheNextChildAndAChildWithoutAnEntryIsPassedOver()
    {
        using var walk = new ScriptedWalk(this, (w, child) => child switch
        {
            // Like a directory with whiteouts: no entry of its own here, two queued ones.
            "queues" => w.Queue("q1", "q2"),
            "nothing" => null,
            _ => Entry(child),
        });
        walk.Enter("", "a", "queues", "nothing", "b");
        walk.Queue("first");

        Assert.Equal(["first", "a", "q1", "q2", "b"], ReadAll(walk));
        Assert.Equal([""], _closed);
    }

    [Fact]
    public void AnExhaustedDirectoryIsClosedAndTheWalkGoesOnInItsParent()
    {
        using var walk = new ScriptedWalk(this, (w, child) =>
        {
            if (child == "sub")
            {
                w.Enter("sub/", "x");
            }

            return Entry(child);
        });
        walk.Enter("", "sub", "z");

        Assert.True(walk.TryRead(out var sub));
        Assert.True(walk.TryRead(out var x));
        Assert.Empty(_closed);
        Assert.True(walk.TryRead(out var z));

        Assert.Equal(["sub", "sub/x", "z"], new[] { sub, x, z }.Select(e => e!.DisplayPath));
        Assert.Equal(["sub/"], _closed);
        Assert.False(walk.TryRead(out _));
        Assert.Equal(["sub/", ""], _closed);
    }

    [Fact]
    public void ACancellationIsLookedAtBeforeEveryChildEvenOnesWithoutAnEntry()
    {
        using var cancellation = new CancellationTokenSource();
        var read = new List<string>();
        using var walk = new ScriptedWalk(
            this,
            (_, child) =>
            {
                read.Add(child);
                if (child == "cancels")
                {
                    cancellation.Cancel();
                }

                return null;
            },
            cancellation.Token);
        walk.Enter("", "cancels", "after");

        Assert.Throws<OperationCanceledException>(() => walk.TryRead(out _));
        Assert.Equal(["cancels"], read);
    }

    [Fact]
    public void AFailureAboutTheChildsOwnNameGivesTheErrorAloneAfterThePath()
    {
        using var walk = new ScriptedWalk(this, (_, _) => throw new NativeIOException(Libc.EIO, "file"));
        walk.Enter("dir/", "file");

        var failure = Assert.Throws<LayerExportException>(() => walk.TryRead(out _));

        Assert.Equal("dir/file", failure.Path);
        Assert.Equal(Libc.Describe(Libc.EIO), failure.Reason);
    }

    [Fact]
    public void AFailureAboutAnotherNameKeepsThatName()
    {
        using var walk = new ScriptedWalk(this, (_, _) => throw new NativeIOException(Libc.EIO, "other"));
        walk.Enter("dir/", "file");

        var failure = Assert.Throws<LayerExportException>(() => walk.TryRead(out _));

        Assert.Equal("dir/file", failure.Path);
        Assert.Equal($"other: {Libc.Describe(Libc.EIO)}", failure.Reason);
    }

    [Fact]
    public void AFailureThatAlreadyNamesItsEntryOrACancellationPassesThroughAsItIs()
    {
        var named = new LayerExportException("elsewhere", "told already");
        var cancelled = new OperationCanceledException();
        using var walk = new ScriptedWalk(this, (_, child) => throw (child == "named" ? named : (Exception)cancelled));
        walk.Enter("", "named", "cancelled");

        Assert.Same(named, Assert.Throws<LayerExportException>(() => walk.TryRead(out _)));
        Assert.Same(cancelled, Assert.Throws<OperationCanceledException>(() => walk.TryRead(out _)));
    }

    [Fact]
    public void DisposeClosesEveryOpenDirectoryAndEveryQueuedEntry()
    {
        var walk = new ScriptedWalk(this, (_, child) => Entry(child));
        walk.Enter("", "a");
        walk.Enter("sub/", "b");
        walk.Queue("queued1", "queued2");

        walk.Dispose();

        Assert.Equal(["sub/", "", "queued1", "queued2"], _closed);
    }

    private static List<string> ReadAll(ScriptedWalk walk)
    {
        var names = new List<string>();
        while (walk.TryRead(out var entry))
        {
            names.Add(entry.DisplayPath);
        }

        return names;
    }

    private static LayerEntry Entry(string name) =>
        new(new TarEntryHeader { Name = Encoding.UTF8.GetBytes(name), Type = TarEntryType.RegularFile });

    // Content that tells when it is closed, to see a queued entry disposed.
    private sealed class ClosingContent(List<string> closed, string name) : IEntryContent
    {
        public int Read(Span<byte> destination, long offset) => 0;

        public void Dispose() => closed.Add(name);
    }

    private sealed class ScriptedFrame(List<string> closed, string prefix, List<string> children)
        : DirectoryWalk<ScriptedFrame, string>.Frame(Encoding.UTF8.GetBytes(prefix), children)
    {
        public override void Dispose() => closed.Add(prefix);
    }

    private sealed class ScriptedWalk(DirectoryWalkTests test, Func<ScriptedWalk, string, LayerEntry?> read, CancellationToken cancellationToken = default)
        : DirectoryWalk<ScriptedFrame, string>(cancellationToken)
    {
        public void Enter(string prefix, params string[] children) => Frames.Push(new ScriptedFrame(test._closed, prefix, [.. children]));

        // Queues entries whose content records its closing; returns no entry, as a directory with whiteouts may.
        public LayerEntry? Queue(params string[] names)
        {
            foreach (var name in names)
            {
                Pending.Enqueue(new LayerEntry(Entry(name).Header, new ClosingContent(test._closed, name)));
            }

            return null;
        }

        protected override byte[] NameOf(string child) => Encoding.UTF8.GetBytes(child);

        protected override LayerEntry? ReadChild(ScriptedFrame frame, string child, byte[] path) => read(this, Encoding.UTF8.GetString(path));
    }
}
