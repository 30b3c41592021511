using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Serialization;
using LayerExport.Core.Compression;

namespace LayerExport.Core.Digest;

/// <summary>Descriptors already computed, in memory and in a directory that survives restarts.</summary>
/// <remarks>
/// Keys cover everything the bytes depend on: layer ID, layer fingerprint, representation and codec settings,
/// and the encoder version. A changed layer has a new fingerprint, so it can never be served a stale digest.
/// Files are written to a temporary name and renamed, so a crash never leaves a half-written entry.
/// </remarks>
public sealed class DigestCache
{
    /// <summary>Bumped whenever the tar encoding or a codec changes the bytes for the same input.</summary>
    public const string EncodingVersion = "layer-export/2";

    private readonly ConcurrentDictionary<string, LayerDescriptor> _memory = new(StringComparer.Ordinal);
    private readonly string? _directory;

    /// <summary>A cache kept in <paramref name="directory"/>, or in memory only when it is null.</summary>
    public DigestCache(string? directory)
    {
        _directory = directory;
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }
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

        if (_directory is null || !File.Exists(PathOf(key)))
        {
            return false;
        }

        try
        {
            var stored = JsonSerializer.Deserialize(File.ReadAllBytes(PathOf(key)), DigestCacheJson.Default.StoredDescriptor);
            if (stored is null)
            {
                return false;
            }

            descriptor = _memory.GetOrAdd(key, new LayerDescriptor(stored.MediaType, new LayerDigest(stored.Digest), stored.Size, new LayerDigest(stored.DiffId))
            {
                GzipIndex = stored.GzipIndex is { } index ? new GzipBlockIndex(index.BlockSize, index.CompressedLengths, index.Crc32, index.TarLength) : null,
            });
            return true;
        }
        catch (Exception e) when (e is JsonException or IOException)
        {
            // An unreadable entry is only a miss: the digest is computed again and the entry rewritten.
            return false;
        }
    }

    /// <summary>Stores a descriptor; a directory that cannot be written keeps it in memory only.</summary>
    public void Put(string key, LayerDescriptor descriptor)
    {
        _memory[key] = descriptor;
        if (_directory is null)
        {
            return;
        }

        // Best effort: a cache directory that vanished or filled up costs a recomputation later, never an export.
        try
        {
            Directory.CreateDirectory(_directory);
            var path = PathOf(key);
            var temporary = $"{path}.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp";
            var stored = new StoredDescriptor(
                descriptor.MediaType,
                descriptor.Digest.Value,
                descriptor.Size,
                descriptor.DiffId.Value,
                descriptor.GzipIndex is { } index ? new StoredGzipIndex(index.BlockSize, [.. index.CompressedLengths], index.Crc32, index.TarLength) : null);
            File.WriteAllBytes(temporary, JsonSerializer.SerializeToUtf8Bytes(stored, DigestCacheJson.Default.StoredDescriptor));
            File.Move(temporary, path, overwrite: true);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return;
        }
    }

    private string PathOf(string key) => Path.Combine(_directory!, key + ".json");
}

/// <summary>One cache file's content.</summary>
internal sealed record StoredDescriptor(string MediaType, string Digest, long Size, string DiffId, StoredGzipIndex? GzipIndex = null);

/// <summary>A gzip body's block index as a cache file keeps it.</summary>
internal sealed record StoredGzipIndex(int BlockSize, int[] CompressedLengths, uint Crc32, long TarLength);

/// <summary>Source-generated JSON for cache files.</summary>
[JsonSerializable(typeof(StoredDescriptor))]
internal sealed partial class DigestCacheJson : JsonSerializerContext;
