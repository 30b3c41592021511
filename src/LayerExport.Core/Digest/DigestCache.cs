using System.Buffers;
using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LayerExport.Core.Native;

namespace LayerExport.Core.Digest;

/// <summary>Descriptors already computed, in memory and in a directory that survives restarts.</summary>
/// <remarks>
/// Keys cover everything the bytes depend on: layer ID, layer fingerprint, representation and codec settings,
/// and the encoder version. A changed layer has a new fingerprint, so it can never be served a stale digest.
/// The directory must belong to the server's user and be writable by nobody else (<see cref="PrivateDirectory"/>),
/// since whoever can write it chooses the digests announced. It is checked that way when the cache is made and
/// again each time it is opened to read or write an entry (only on a miss in memory, or for a new digest), and
/// every file is reached through the opened directory without following symlinks. Files are written under an
/// unpredictable temporary name created with <c>O_EXCL</c> and renamed, so a crash never leaves a half-written entry.
/// Every change of a layer makes new entries, so both places are bounded: memory keeps the latest
/// <see cref="DefaultMaxInMemory"/> (an older one is read from the directory again), and the directory loses its
/// oldest-written entries once it holds more than <see cref="DefaultMaxOnDisk"/>, looked at on a pool thread at the
/// first entry a process writes and every 1,024 after: a pruned entry costs one computation of its digest again.
/// </remarks>
public sealed class DigestCache
{
    /// <summary>Bumped whenever the tar encoding or a codec changes the bytes for the same input.</summary>
    public const string EncodingVersion = "layer-export/3";

    // A gzip index holds one length per block; a few MiB of JSON covers layers far beyond any real one.
    private const int MaxEntryBytes = 16 * 1024 * 1024;
    private const int EntryMode = 0b110_000_000;

    /// <summary>Descriptors kept in memory at most.</summary>
    public const int DefaultMaxInMemory = 8192;

    /// <summary>Entries the directory keeps at most.</summary>
    public const int DefaultMaxOnDisk = 65_536;

    private static readonly SearchValues<byte> LowerHex = SearchValues.Create("0123456789abcdef"u8);

    // A write takes milliseconds: a temporary file this old is a crashed write's, never one under way.
    private static readonly TimeSpan AbandonedAfter = TimeSpan.FromHours(1);

    private readonly ConcurrentDictionary<string, LayerDescriptor> _memory = new(StringComparer.Ordinal);
    private readonly LinkedList<string> _memoryOrder = new();
    private readonly Dictionary<string, LinkedListNode<string>> _memoryPlaces = new(StringComparer.Ordinal);
    private readonly Lock _memoryGate = new();
    private readonly CacheDirectory? _directory;
    private readonly uint _user = Libc.GetEffectiveUserId();
    private readonly Action<string>? _writeFailed;
    private readonly int _maxInMemory;
    private readonly int _maxOnDisk;
    private readonly int _pruneEvery;
    private readonly Lock _pruneGate = new();
    private int _written;
    private int _writesFailing;
    private Task _pruning = Task.CompletedTask;

    /// <summary>A cache kept in <paramref name="directory"/>, or in memory only when it is null.</summary>
    /// <param name="directory">The directory, or null for memory only.</param>
    /// <param name="writeFailed">Told why an entry could not be stored on disk (it is kept in memory all the same): once, until an entry is stored there again.</param>
    /// <exception cref="UnsafeDirectoryException">Another user could change the directory or one above it.</exception>
    public DigestCache(string? directory, Action<string>? writeFailed = null)
        : this(directory, writeFailed, DefaultMaxInMemory, DefaultMaxOnDisk)
    {
    }

    /// <summary>A cache with other bounds than the defaults: for tests.</summary>
    internal DigestCache(string? directory, Action<string>? writeFailed, int maxInMemory, int maxOnDisk)
    {
        _maxInMemory = maxInMemory;
        _maxOnDisk = maxOnDisk;
        _pruneEvery = Math.Max(1, maxOnDisk / 64);
        _writeFailed = writeFailed;
        if (directory is not null)
        {
            _directory = new CacheDirectory(directory);
        }
    }

    /// <summary>Opens or creates <paramref name="directory"/> as a cache would, and closes it again: the start-up check.</summary>
    /// <exception cref="UnsafeDirectoryException">Another user could change the directory or one above it.</exception>
    public static void CheckDirectory(string directory)
    {
        using var opened = PrivateDirectory.OpenOrCreate(directory);
    }

    /// <summary>The key for one representation of one layer state.</summary>
    public static string Key(string layerId, string fingerprint, string representation) =>
        Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{EncodingVersion}\n{layerId}\n{fingerprint}\n{representation}")));

    /// <summary>Looks a descriptor up.</summary>
    public bool TryGet(string key, out LayerDescriptor descriptor)
    {
        if (_memory.TryGetValue(key, out descriptor!))
        {
            return true;
        }

        if (_directory is null || ReadEntry(_directory, key) is not { } bytes)
        {
            return false;
        }

        try
        {
            if (JsonSerializer.Deserialize(bytes, DigestCacheJson.Default.StoredDescriptor)?.ToDescriptor() is not { } stored)
            {
                return false;
            }

            descriptor = stored;
            Remember(key, descriptor);
            return true;
        }
        catch (JsonException)
        {
            // An unreadable entry is only a miss: the digest is computed again and the entry rewritten.
            return false;
        }
    }

    /// <summary>Stores a descriptor; a directory that cannot be written keeps it in memory only.</summary>
    public void Put(string key, LayerDescriptor descriptor)
    {
        Remember(key, descriptor);
        if (_directory is null)
        {
            return;
        }

        var stored = new StoredDescriptor(
            descriptor.MediaType,
            descriptor.Digest.Value,
            descriptor.Size,
            descriptor.DiffId.Value,
            descriptor.GzipIndex is { } index ? StoredGzipIndex.Of(index) : null,
            descriptor.TarCheck,
            descriptor.BodyCheck);
        var temporary = Encoding.ASCII.GetBytes($"{key}.json.{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(16))}.tmp");

        // Best effort: a cache directory that vanished, filled up or became unsafe costs a recomputation later, never an export.
        FileDescriptor directory;
        try
        {
            directory = _directory.Open();
        }
        catch (IOException e)
        {
            WriteFailed(e.Message);
            return;
        }

        using (directory)
        {
            try
            {
                using (var file = directory.CreateNewFileAt(temporary, EntryMode))
                {
                    file.WriteAll(JsonSerializer.SerializeToUtf8Bytes(stored, DigestCacheJson.Default.StoredDescriptor));
                }

                directory.RenameAt(temporary, EntryName(key));
                Volatile.Write(ref _writesFailing, 0);
                // The first entry a process writes looks too: a server restarted before every interval still prunes.
                if ((Interlocked.Increment(ref _written) - 1) % _pruneEvery == 0)
                {
                    PruneSoon();
                }
            }
            catch (NativeIOException e)
            {
                directory.RemoveQuietlyAt(temporary);
                WriteFailed(e.Message);
            }
        }
    }

    /// <summary>Drops a descriptor from memory and from the directory: one an export found its layer state not to make.</summary>
    public void Forget(string key)
    {
        lock (_memoryGate)
        {
            _memory.TryRemove(key, out _);
            if (_memoryPlaces.Remove(key, out var place))
            {
                _memoryOrder.Remove(place);
            }
        }

        if (_directory is null)
        {
            return;
        }

        try
        {
            using var directory = _directory.Open();
            directory.RemoveQuietlyAt(EntryName(key));
        }
        catch (IOException)
        {
            // A directory that is not there or not safe now holds nothing that is read back either.
        }
    }

    // A full disk fails every new digest alike: the first failure is told, the next ones only after an entry was stored again.
    private void WriteFailed(string reason)
    {
        if (Interlocked.Exchange(ref _writesFailing, 1) == 0)
        {
            _writeFailed?.Invoke(reason);
        }
    }

    private static byte[] EntryName(string key) => Encoding.ASCII.GetBytes(key + ".json");

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

    // Oldest in, first out: a key's order is that of its first arrival since it was last let go or forgotten. Under one
    // lock, so a key stored again while it is let go is either kept in the order or not kept at all, and the order
    // holds exactly the keys in memory: a key forgotten leaves no place behind.
    private void Remember(string key, LayerDescriptor descriptor)
    {
        lock (_memoryGate)
        {
            if (!_memory.TryAdd(key, descriptor))
            {
                _memory[key] = descriptor;
                return;
            }

            _memoryPlaces[key] = _memoryOrder.AddLast(key);
            while (_memory.Count > _maxInMemory && _memoryOrder.First is { } oldest)
            {
                _memoryOrder.RemoveFirst();
                _memoryPlaces.Remove(oldest.Value);
                _memory.TryRemove(oldest.Value, out _);
            }
        }
    }

    // Off the request that wrote the entry, one at a time: a listing of tens of thousands of entries is no export's business.
    private void PruneSoon()
    {
        lock (_pruneGate)
        {
            if (!_pruning.IsCompleted)
            {
                return;
            }

            _pruning = Task.Run(() =>
            {
                try
                {
                    using var directory = _directory!.Open();
                    Prune(directory);
                }
                catch (IOException)
                {
                    // The directory is not there or not safe now: writing an entry says so; the next interval tries again.
                }
            });
        }
    }

    // Down to nine tenths of the bound, oldest-written entries first, and the temporary files of writes a crash cut
    // short; anything else in the directory is left alone.
    private void Prune(FileDescriptor directory)
    {
        var entries = new List<(byte[] Name, long Seconds, uint Nanoseconds)>();
        var abandonedBefore = DateTimeOffset.UtcNow.Subtract(AbandonedAfter).ToUnixTimeSeconds();
        foreach (var (name, type, _) in directory.ReadDirectory())
        {
            var entry = IsEntryName(name);
            if (type is Libc.DT_REG or Libc.DT_UNKNOWN && (entry || IsTemporaryName(name)))
            {
                try
                {
                    var status = directory.StatAt(name);
                    if (entry)
                    {
                        entries.Add((name, status.MtimeSeconds, status.MtimeNanoseconds));
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
        }

        if (entries.Count <= _maxOnDisk)
        {
            return;
        }

        entries.Sort(static (a, b) => a.Seconds != b.Seconds ? a.Seconds.CompareTo(b.Seconds) : a.Nanoseconds.CompareTo(b.Nanoseconds));
        foreach (var (name, _, _) in entries.Take(entries.Count - (_maxOnDisk - (_maxOnDisk / 10))))
        {
            directory.RemoveQuietlyAt(name);
        }
    }

    // <64 lowercase hex digits>.json, as EntryName makes them.
    private static bool IsEntryName(ReadOnlySpan<byte> name) =>
        name.Length == 64 + 5 && name.EndsWith(".json"u8) && !name[..64].ContainsAnyExcept(LowerHex);

    // An entry's name, a dot and 32 lowercase hex digits, then .tmp, as Put makes them before the rename.
    private static bool IsTemporaryName(ReadOnlySpan<byte> name) =>
        name.Length == 64 + 5 + 1 + 32 + 4 && IsEntryName(name[..69]) && name[69] == (byte)'.' && name.EndsWith(".tmp"u8)
        && !name.Slice(70, 32).ContainsAnyExcept(LowerHex);

    // Only a regular file of this user is an entry: nothing else can stand in the directory unless someone with
    // the user's rights (or root) put it there, and then it is ignored rather than followed or trusted.
    private byte[]? ReadEntry(CacheDirectory cache, string key)
    {
        try
        {
            using var directory = cache.Open();
            using var file = directory.OpenFileAt(EntryName(key));
            var status = file.Stat();
            if (status.Type != Libc.S_IFREG || status.Uid != _user || status.Size > MaxEntryBytes)
            {
                return null;
            }

            var bytes = new byte[status.Size];
            for (int read = 0, n; read < bytes.Length; read += n)
            {
                n = file.ReadAt(bytes.AsSpan(read), read);
                if (n == 0)
                {
                    return null;
                }
            }

            return bytes;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
