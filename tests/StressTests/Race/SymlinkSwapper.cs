using StressTests.Infrastructure;

namespace StressTests.Race;

/// <summary>The attacker: on its own thread, keeps swapping a file and directories of a layer for symlinks to a secret outside it.</summary>
/// <remarks>
/// Four moves, in turn, each done and then undone: (1) renameat2(RENAME_EXCHANGE) of the file with a symlink to the
/// secret file, (2) rename(2) of a fresh symlink over the file, (3) unlink(2) then symlink(2), (4) RENAME_EXCHANGE of
/// a directory (then of a directory one level down) with a symlink to the secret directory, and (5) rename(2) of the
/// directory out of the layer, then symlink(2) in its place. The swapped-out file is kept in <c>aside</c> (a hard
/// link outside <c>diff/</c>) and comes back by link(2) + rename(2). Every move is atomic or a two-step the reader can
/// fall between, the windows CVE-2018-15664 (docker cp) used.
/// </remarks>
internal sealed class SymlinkSwapper : IDisposable
{
    private readonly string _diff;
    private readonly string _aside;
    private readonly string _secretFile;
    private readonly string _secretDirectory;
    private readonly Thread _thread;
    private volatile bool _stop;
    private long _swaps;
    private long _failures;
    private string? _lastFailure;

    /// <param name="diff">The layer's diff directory: holds <c>swap-file</c>, <c>swap-dir/</c> and <c>swap-dir/nested/</c>.</param>
    /// <param name="aside">A directory outside diff/ on the same file system, where swapped-out things wait.</param>
    /// <param name="secretFile">The secret file the symlinks point at.</param>
    /// <param name="secretDirectory">A secret directory laid out like swap-dir, with secret files of the same names and sizes.</param>
    public SymlinkSwapper(string diff, string aside, string secretFile, string secretDirectory)
    {
        _diff = diff;
        _aside = aside;
        _secretFile = secretFile;
        _secretDirectory = secretDirectory;
        Require(Posix.TryLink(In("swap-file"), Path.Combine(_aside, "keep-file"), out var errno), "link swap-file aside", errno);
        Require(Posix.TrySymlink(_secretFile, In(".file-link"), out errno), "symlink .file-link", errno);
        Require(Posix.TrySymlink(_secretDirectory, In(".dir-link"), out errno), "symlink .dir-link", errno);
        Require(Posix.TrySymlink(Path.Combine(_secretDirectory, "nested"), In("swap-dir/.nested-link"), out errno), "symlink .nested-link", errno);
        _thread = new Thread(Run) { IsBackground = true, Name = "symlink swapper" };
    }

    /// <summary>Moves made so far (each move and its undoing count once each).</summary>
    public long Swaps => Interlocked.Read(ref _swaps);

    /// <summary>System calls that failed (should stay 0: the attacker alone changes these names).</summary>
    public long Failures => Interlocked.Read(ref _failures);

    public string? LastFailure => _lastFailure;

    public void Start() => _thread.Start();

    /// <summary>Stops the attacker and puts the layer back as it was.</summary>
    public void Dispose()
    {
        _stop = true;
        if (_thread.IsAlive)
        {
            _thread.Join();
        }
    }

    private void Run()
    {
        var move = 0;
        while (!_stop)
        {
            switch (move++ % 6)
            {
                case 0:
                    // (1) Atomic exchange of the file and a symlink to the secret, and back.
                    Do(Posix.TryExchange(In("swap-file"), In(".file-link"), out var e1), "exchange swap-file", e1);
                    Do(Posix.TryExchange(In("swap-file"), In(".file-link"), out var e2), "exchange swap-file back", e2);
                    break;
                case 1:
                    // (2) A fresh symlink renamed over the file; the file comes back the same way.
                    Do(Posix.TrySymlink(_secretFile, In(".tmp"), out var e3), "symlink .tmp", e3);
                    Do(Posix.TryRename(In(".tmp"), In("swap-file"), out var e4), "rename symlink over swap-file", e4);
                    RestoreFile();
                    break;
                case 2:
                    // (3) Not atomic: the name is missing for a moment, then a symlink.
                    Do(Posix.TryUnlink(In("swap-file"), out var e5), "unlink swap-file", e5);
                    Do(Posix.TrySymlink(_secretFile, In("swap-file"), out var e6), "symlink swap-file", e6);
                    Do(Posix.TryUnlink(In("swap-file"), out var e7), "unlink swap-file symlink", e7);
                    Do(Posix.TryLink(Path.Combine(_aside, "keep-file"), In("swap-file"), out var e8), "link swap-file back", e8);
                    break;
                case 3:
                    // (4) Atomic exchange of the directory and a symlink to the secret directory.
                    Do(Posix.TryExchange(In("swap-dir"), In(".dir-link"), out var e9), "exchange swap-dir", e9);
                    Do(Posix.TryExchange(In("swap-dir"), In(".dir-link"), out var e10), "exchange swap-dir back", e10);
                    break;
                case 4:
                    // (4') The same one level down, inside a directory the reader may already have open.
                    Do(Posix.TryExchange(In("swap-dir/nested"), In("swap-dir/.nested-link"), out var e11), "exchange nested", e11);
                    Do(Posix.TryExchange(In("swap-dir/nested"), In("swap-dir/.nested-link"), out var e12), "exchange nested back", e12);
                    break;
                default:
                    // (5) The directory moved out of the layer and a symlink put in its place, then undone.
                    Do(Posix.TryRename(In("swap-dir"), Path.Combine(_aside, "keep-dir"), out var e13), "rename swap-dir aside", e13);
                    Do(Posix.TrySymlink(_secretDirectory, In("swap-dir"), out var e14), "symlink swap-dir", e14);
                    Do(Posix.TryUnlink(In("swap-dir"), out var e15), "unlink swap-dir symlink", e15);
                    Do(Posix.TryRename(Path.Combine(_aside, "keep-dir"), In("swap-dir"), out var e16), "rename swap-dir back", e16);
                    break;
            }
        }
    }

    private void RestoreFile()
    {
        Do(Posix.TryLink(Path.Combine(_aside, "keep-file"), In(".tmp"), out var e1), "link .tmp", e1);
        Do(Posix.TryRename(In(".tmp"), In("swap-file"), out var e2), "rename file back over swap-file", e2);
    }

    private void Do(bool succeeded, string what, int errno)
    {
        if (succeeded)
        {
            Interlocked.Increment(ref _swaps);
            return;
        }

        Interlocked.Increment(ref _failures);
        _lastFailure = $"{what}: errno {errno}";
    }

    private static void Require(bool succeeded, string what, int errno)
    {
        if (!succeeded)
        {
            throw new IOException($"{what} failed: errno {errno}");
        }
    }

    private string In(string relative) => Path.Combine(_diff, relative);
}
