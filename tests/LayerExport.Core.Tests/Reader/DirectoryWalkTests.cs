using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Tests.Reader;

/// <summary>
/// The loop both layer walks share, driven by a scripted walk: queued entries come before the next child, a child
/// that yields nothing is passed over, the cancellation is looked at before every child, a failure names the
/// child's path, whatever is still open or queued is closed on dispose, and only the innermost frames keep their
/// directories open.
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

    // A layer may nest thousands of directories: one open descriptor each would use up the process's limit.
    [Fact]
    public void OnlyTheInnermostFramesStayOpenAndEachIsOpenedAgainThroughTheOneItReturnsFrom()
    {
        const int Depth = 40;
        var parked = 0;
        var mostOpen = 0;
        using var walk = new ScriptedWalk(this, (w, child) => Nested(w, child, Depth));
        walk.Enter("", "d", "f");

        var names = new List<string>();
        while (walk.TryRead(out var entry))
        {
            names.Add(entry.DisplayPath);
            parked = Math.Max(parked, walk.Events.Count(e => e.StartsWith("park ", StringComparison.Ordinal)));
            mostOpen = Math.Max(mostOpen, walk.OpenFrames);
            if (entry.DisplayPath.Split('/').Length == Depth)
            {
                break;
            }
        }

        // The root is its caller's and never closed; the walk's own open frames are at most the bound.
        Assert.Equal(DirectoryWalk<ScriptedFrame, string>.OpenFramesAtMost, mostOpen);
        Assert.Equal(Depth - DirectoryWalk<ScriptedFrame, string>.OpenFramesAtMost - 1, parked);
        Assert.Equal("park d/", walk.Events[0]);

        walk.Events.Clear();
        names.AddRange(ReadAll(walk));

        // Going back up, each parked frame is opened through the one just finished below it, before its next child.
        var resumed = walk.Events.Where(e => e.StartsWith("resume ", StringComparison.Ordinal)).ToList();
        var outermostParked = Enumerable.Range(1, parked).Select(level => string.Concat(Enumerable.Repeat("d/", level)));
        Assert.Equal(outermostParked.Reverse().Select(prefix => $"resume {prefix} through {prefix}d/"), resumed);
        Assert.Equal(ExpectedNames(Depth), names);
    }

    [Fact]
    public void AFrameThatCannotBeOpenedAgainFailsNamingItsDirectoryAndClosesTheFrameBelow()
    {
        const int Depth = 40;
        using var walk = new ScriptedWalk(this, (w, child) => Nested(w, child, Depth));
        walk.RefuseResumeOf = "d/d/";
        walk.Enter("", "d", "f");

        var failure = Assert.Throws<LayerExportException>(() => ReadAll(walk));

        Assert.Equal("d/d/", failure.Path);
        Assert.Equal("directory was moved while being read", failure.Reason);
        Assert.Contains("d/d/d/", _closed);
    }

    // Directories "d" nested to the depth, each but the innermost also holding a file "f" that sorts after "d".
    private static LayerEntry Nested(ScriptedWalk walk, string child, int depth)
    {
        if (child.EndsWith('d') && child.Split('/').Length < depth)
        {
            walk.Enter(child + "/", "d", "f");
        }

        return Entry(child);
    }

    private static List<string> ExpectedNames(int depth)
    {
        var names = new List<string>();
        for (var level = 1; level <= depth; level++)
        {
            names.Add(string.Join('/', Enumerable.Repeat("d", level)));
        }

        for (var level = depth - 1; level >= 0; level--)
        {
            names.Add(string.Join('/', Enumerable.Repeat("d", level).Append("f")));
        }

        return names;
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

    // A frame that records what the walk does with it; the root ("") is its caller's and stays open, as in the readers.
    private sealed class ScriptedFrame(ScriptedWalk walk, List<string> closed, string prefix, List<string> children)
        : DirectoryWalk<ScriptedFrame, string>.Frame(Encoding.UTF8.GetBytes(prefix), children, [])
    {
        public string Name => prefix;

        public override void Park(ScriptedFrame inner)
        {
            if (prefix.Length > 0)
            {
                walk.Events.Add($"park {prefix}");
                Parked = true;
            }
        }

        public override void Resume(ScriptedFrame inner)
        {
            walk.Events.Add($"resume {prefix} through {inner.Name}");
            if (prefix == walk.RefuseResumeOf)
            {
                throw new LayerChangedException("directory was moved while being read");
            }

            Parked = false;
        }

        public override void Dispose()
        {
            closed.Add(prefix);
            base.Dispose();
        }
    }

    private sealed class ScriptedWalk(DirectoryWalkTests test, Func<ScriptedWalk, string, LayerEntry?> read, CancellationToken cancellationToken = default)
        : DirectoryWalk<ScriptedFrame, string>(cancellationToken)
    {
        private readonly List<ScriptedFrame> _entered = [];

        public List<string> Events { get; } = [];

        public string? RefuseResumeOf { get; set; }

        // Frames entered and not closed that the walk did not park, the caller's root left out.
        public int OpenFrames => _entered.Count(f => f.Name.Length > 0 && !f.Parked && !test._closed.Contains(f.Name));

        public void Enter(string prefix, params string[] children)
        {
            var frame = new ScriptedFrame(this, test._closed, prefix, [.. children]);
            _entered.Add(frame);
            Push(frame);
        }

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
