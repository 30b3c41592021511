using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Native;

namespace LayerExport.Core.Blobs;

/// <summary>Compressed layer bodies kept on disk under their digest, so that a later download of the same body reads it back instead of compressing the layer again.</summary>
/// <remarks>
/// Content-addressed, as a registry keeps blobs: a body is looked up only by the digest a layer state's descriptor
/// names, and is read back through a check of that digest with its last byte held until the check passed
/// (<see cref="CachedBlob"/>), so a file damaged on disk fails its download and is removed, never served as whole.
/// A body is kept only from a complete export whose digest was computed from the very bytes copied here
/// (<see cref="BlobCopy"/>). The directory is one only this user can change (<see cref="PrivateDirectory"/>), opened
/// anew for every use; the bodies written first go first once together they would hold more than the bound.
/// </remarks>
public sealed class BlobCache
{
    /// <summary>The default bound on the bytes kept.</summary>
    public const long DefaultMaxBytes = 8L << 30;

    private const int EntryMode = 0b110_000_000;
    private const string EntryPrefix = "sha256-";
    private const int HexDigits = 64;

    // Refusals are rare (a damaged disk): past this many, the oldest being long gone, the set starts again.
    private const int MaxRefused = 1024;

    private static readonly SearchValues<byte> LowerHex = SearchValues.Create("0123456789abcdef"u8);

    // Every write moves a copy's mtime, and a download that sends nothing for that long is cut by the minimum read
    // rate: a copy untouched this long is a crashed server's, never one under way.
    private static readonly TimeSpan AbandonedAfter = TimeSpan.FromDays(1);

    private readonly CacheDirectory? _directory;
    private readonly uint _user = Libc.GetEffectiveUserId();
    private readonly Action<string>? _writeFailed;
    private readonly ConcurrentDictionary<string, byte> _copying = new(StringComparer.Ordinal);

    // Bodies found damaged or unreadable: not opened again, where the file could not be removed (a file system
    // remounted read-only after errors) too, until a new copy of the same digest is kept.
    private readonly ConcurrentDictionary<string, byte> _refused = new(StringComparer.Ordinal);
    private readonly Lock _pruneGate = new();
    private Task _pruning = Task.CompletedTask;
    private bool _pruneRunning;
    private bool _pruneAgain;
    private int _writesFailing;

    /// <summary>A cache kept in <paramref name="directory"/>; null keeps nothing.</summary>
    /// <param name="directory">The directory, or null for a cache that is off.</param>
    /// <param name="maxBytes">The bound on the bytes of the bodies kept; a body larger than it is not kept.</param>
    /// <param name="writeFailed">Told why a body could not be kept: once, until one is kept again.</param>
    /// <exception cref="UnsafeDirectoryException">Another user could change the directory or one above it.</exception>
    public BlobCache(string? directory, long maxBytes = DefaultMaxBytes, Action<string>? writeFailed = null)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(maxBytes);
        MaxBytes = maxBytes;
        _writeFailed = writeFailed;
        if (directory is not null)
        {
            _directory = new CacheDirectory(directory);
        }
    }

    /// <summary>Whether bodies are kept at all.</summary>
    public bool IsOn => _directory is not null;

    /// <summary>The bound on the bytes kept.</summary>
    public long MaxBytes { get; }

    /// <summary>The prune under way or last run: for tests, which wait for it.</summary>
    internal Task Pruning
    {
        get
        {
            lock (_pruneGate)
            {
                return _pruning;
            }
        }
    }

    /// <summary>Opens or creates <paramref name="directory"/> as the cache would, and closes it again: the start-up check.</summary>
    /// <exception cref="UnsafeDirectoryException">Another user could change the directory or one above it.</exception>
    public static void CheckDirectory(string directory)
    {
        using var opened = PrivateDirectory.OpenOrCreate(directory);
    }

    /// <summary>The kept body <paramref name="descriptor"/> describes, opened, or null when none of its size is kept.</summary>
    /// <remarks>Only a regular file of this user and of the descriptor's size is a body: anything else is ignored rather than trusted.</remarks>
    public CachedBlob? TryOpen(LayerDescriptor descriptor)
    {
        ArgumentNullException.ThrowIfNull(descriptor);
        if (_directory is null || EntryName(descriptor.Digest) is not { } name || _refused.ContainsKey(descriptor.Digest.Value))
        {
            return null;
        }

        FileDescriptor? file = null;
        try
        {
            using var directory = _directory.Open();
            file = directory.OpenFileAt(name);
            var status = file.Stat();
            if (status.Type != Libc.S_IFREG || status.Uid != _user || status.Size != descriptor.Size)
            {
                file.Dispose();
                return null;
            }

            return new CachedBlob(file, descriptor);
        }
        catch (IOException)
        {
            file?.Dispose();
            return null;
        }
    }

    /// <summary>Whether a body <paramref name="descriptor"/> describes is kept, as far as its name, type, owner and size tell without reading it.</summary>
    public bool Holds(LayerDescriptor? descriptor)
    {
        if (_directory is null || descriptor is null || EntryName(descriptor.Digest) is not { } name || _refused.ContainsKey(descriptor.Digest.Value))
        {
            return false;
        }

        try
        {
            using var directory = _directory.Open();
            var status = directory.StatAt(name);
            return status.Type == Libc.S_IFREG && status.Uid == _user && status.Size == descriptor.Size;
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>A new copy to write a body into while it is made, or null when the cache is off, its directory cannot take one now, or a copy of the same <paramref name="state"/> is under way.</summary>
    /// <param name="state">What the body will be of (layer, state, representation): many clients downloading the same new state at once write one copy, not one each.</param>
    public BlobCopy? StartCopy(string state)
    {
        if (_directory is null || !_copying.TryAdd(state, 0))
        {
            return null;
        }

        var temporary = Encoding.ASCII.GetBytes($"{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}.tmp");
        FileDescriptor? directory = null;
        try
        {
            directory = _directory.Open();
            return new BlobCopy(this, state, directory, temporary, directory.CreateNewFileAt(temporary, EntryMode));
        }
        catch (IOException e)
        {
            directory?.Dispose();
            _copying.TryRemove(state, out _);
            WriteFailed(e.Message);
            return null;
        }
    }

    /// <summary>The state <see cref="StartCopy"/> takes for one representation of one layer state.</summary>
    public static string StateOf(string layerId, string fingerprint, LayerCompression compression) => $"{layerId}\n{fingerprint}\n{compression}";

    /// <summary>A copy of <paramref name="state"/> ended, kept or not.</summary>
    internal void CopyEnded(string state) => _copying.TryRemove(state, out _);

    /// <summary>Removes the body kept under <paramref name="digest"/>, one found damaged or unreadable on its way out, and opens it no more even where it cannot be removed.</summary>
    public void Remove(LayerDigest digest)
    {
        if (_directory is null || EntryName(digest) is not { } name)
        {
            return;
        }

        if (_refused.Count >= MaxRefused)
        {
            _refused.Clear();
        }

        _refused[digest.Value] = 0;
        try
        {
            using var directory = _directory.Open();
            directory.UnlinkAt(name);
        }
        catch (IOException)
        {
            // A directory not there or not safe now holds nothing that is read back either.
        }
    }

    /// <summary>The name a body of this digest is kept under; null for a digest that is not a SHA-256 as this server writes them.</summary>
    internal static byte[]? EntryName(LayerDigest digest)
    {
        var value = digest.Value;
        if (value is null || value.Length != 7 + HexDigits || !value.StartsWith("sha256:", StringComparison.Ordinal))
        {
            return null;
        }

        var name = Encoding.ASCII.GetBytes(EntryPrefix + value[7..]);
        return IsEntryName(name) ? name : null;
    }

    /// <summary>Prunes the directory off the caller's thread: down to the bound, and without the copies a crashed server left.</summary>
    /// <remarks>Called at start, as a body kept or a copy refused calls it, so that what a crash left goes without waiting for either.</remarks>
    public void PruneSoon()
    {
        if (_directory is null)
        {
            return;
        }

        // One prune at a time; asked for while one runs, another runs after it.
        lock (_pruneGate)
        {
            if (_pruneRunning)
            {
                _pruneAgain = true;
                return;
            }

            _pruneRunning = true;
            _pruning = Task.Run(PruneUntilSettled);
        }
    }

    /// <summary>A copy was kept under <paramref name="digest"/>: the next failure is told again, and the bound is enforced.</summary>
    internal void Kept(LayerDigest digest)
    {
        _refused.TryRemove(digest.Value, out _);
        Volatile.Write(ref _writesFailing, 0);
        PruneSoon();
    }

    /// <summary>Tells, once until a body is kept again, why one could not be, and prunes: a crash's copies a day old go from a disk they filled.</summary>
    internal void WriteFailed(string reason)
    {
        if (Interlocked.Exchange(ref _writesFailing, 1) == 0)
        {
            _writeFailed?.Invoke(reason);
        }

        // Every refusal, not the first alone: a copy turns a day old while the disk stays full. Prunes run one at a time.
        PruneSoon();
    }

    private void PruneUntilSettled()
    {
        try
        {
            PruneWhileAskedFor();
        }
        finally
        {
            // Whatever ended the loop, a later request starts a prune again rather than waiting on this one for good.
            lock (_pruneGate)
            {
                _pruneRunning = false;
            }
        }
    }

    private void PruneWhileAskedFor()
    {
        while (true)
        {
            try
            {
                using var directory = _directory!.Open();
                Prune(directory);
            }
            catch (IOException)
            {
                // The directory is not there or not safe now: the next body kept tries again.
            }

            // Running stays true until this decision, under the gate, so a request made after it starts another.
            lock (_pruneGate)
            {
                if (!_pruneAgain)
                {
                    _pruneRunning = false;
                    return;
                }

                _pruneAgain = false;
            }
        }
    }

    // Down to the bound, bodies written first going first, and the copies a crash left behind; anything else in the
    // directory is left alone.
    private void Prune(FileDescriptor directory)
    {
        var entries = new List<(byte[] Name, long Size, long Seconds, uint Nanoseconds)>();
        var abandonedBefore = DateTimeOffset.UtcNow.Subtract(AbandonedAfter).ToUnixTimeSeconds();
        long total = 0;
        foreach (var (name, type, _) in directory.ReadDirectory())
        {
            var entry = IsEntryName(name);
            if (type is not (Libc.DT_REG or Libc.DT_UNKNOWN) || !(entry || IsTemporaryName(name)))
            {
                continue;
            }

            try
            {
                var status = directory.StatAt(name);
                if (entry)
                {
                    entries.Add((name, status.Size, status.MtimeSeconds, status.MtimeNanoseconds));
                    total += status.Size;
                }
                else if (status.MtimeSeconds < abandonedBefore)
                {
                    directory.RemoveQuietlyAt(name);
                }
            }
            catch (NativeIOException)
            {
                // Gone since the listing: one fewer to prune.
            }
        }

        entries.Sort(static (a, b) => a.Seconds != b.Seconds ? a.Seconds.CompareTo(b.Seconds) : a.Nanoseconds.CompareTo(b.Nanoseconds));
        for (var i = 0; total > MaxBytes && i < entries.Count; i++)
        {
            directory.RemoveQuietlyAt(entries[i].Name);
            total -= entries[i].Size;
        }
    }

    // sha256-<64 lowercase hex digits>, as EntryName makes them.
    private static bool IsEntryName(ReadOnlySpan<byte> name) =>
        name.Length == EntryPrefix.Length + HexDigits && name.StartsWith("sha256-"u8) && !name[EntryPrefix.Length..].ContainsAnyExcept(LowerHex);

    // <32 lowercase hex digits>.tmp, as StartCopy makes them.
    private static bool IsTemporaryName(ReadOnlySpan<byte> name) =>
        name.Length == 32 + 4 && name.EndsWith(".tmp"u8) && !name[..32].ContainsAnyExcept(LowerHex);
}
