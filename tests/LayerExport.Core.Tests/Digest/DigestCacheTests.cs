using System.Text;
using System.Text.Json.Nodes;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Native;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Digest;

/// <summary>Whoever can write the cache directory chooses the digests announced, so only the server's user may, and nothing in it is followed.</summary>
public sealed class DigestCacheTests : IAsyncLifetime, IDisposable
{
    private const uint Nobody = 65534;

    private static readonly LayerDescriptor Descriptor = new(
        "application/vnd.oci.image.layer.v1.tar",
        new LayerDigest("sha256:" + new string('a', 64)),
        1024,
        new LayerDigest("sha256:" + new string('a', 64)));

    private readonly TempDirectory _temp = new();
    private readonly List<DigestCache> _caches = [];

    // Under a umask that lets the group write, the scratch directory itself would be refused as an ancestor.
    public DigestCacheTests() => Posix.ChangeMode(_temp.Path, Convert.ToInt32("755", 8));

    public Task InitializeAsync() => Task.CompletedTask;

    // Before Dispose: a prune still running would open (and so create) the directory again after it is deleted.
    public Task DisposeAsync() => Task.WhenAll(_caches.Select(cache => cache.Pruning));

    public void Dispose() => _temp.Dispose();

    [Fact]
    public void MemoryKeepsOnlyTheLatestDescriptors()
    {
        var cache = Cache(null, maxInMemory: 4, maxOnDisk: DigestCache.DefaultMaxOnDisk);
        for (var i = 0; i < 6; i++)
        {
            cache.Put(Key(i), Descriptor);
        }

        Assert.Equal([false, false, true, true, true, true], Enumerable.Range(0, 6).Select(i => cache.TryGet(Key(i), out _)));
    }

    // A forgotten key leaves no place in the order behind: stored again, it is the newest, and the oldest goes. (Left
    // behind, such places were let go first, taking the key stored again, and piled up while the cache stayed small.)
    [Fact]
    public void AKeyForgottenAndStoredAgainIsTheNewestInMemory()
    {
        var cache = Cache(null, maxInMemory: 2, maxOnDisk: DigestCache.DefaultMaxOnDisk);
        cache.Put(Key(0), Descriptor);
        cache.Put(Key(1), Descriptor);
        cache.Forget(Key(0));
        cache.Put(Key(2), Descriptor);

        cache.Put(Key(0), Descriptor);

        Assert.Equal([true, false, true], Enumerable.Range(0, 3).Select(i => cache.TryGet(Key(i), out _)));
    }

    // Keys stored again while they are let go, from many threads: afterwards the bound still holds and the newest stay.
    [Fact]
    public void MemoryStaysBoundedWhenTheSameKeysAreStoredFromManyThreads()
    {
        var cache = Cache(null, maxInMemory: 8, maxOnDisk: DigestCache.DefaultMaxOnDisk);
        Parallel.For(0, 4, thread =>
        {
            var random = new Random(thread);
            for (var i = 0; i < 200_000; i++)
            {
                cache.Put(Key(random.Next(12)), Descriptor);
            }
        });

        for (var i = 100; i < 116; i++)
        {
            cache.Put(Key(i), Descriptor);
        }

        Assert.Equal(0, Enumerable.Range(0, 12).Count(i => cache.TryGet(Key(i), out _)));
        Assert.Equal(8, Enumerable.Range(100, 16).Count(i => cache.TryGet(Key(i), out _)));
    }

    // A server restarted before every interval (a sidecar per job) must still keep the directory within its bound.
    [Fact]
    public async Task TheDirectoryStaysBoundedAcrossRunsThatEachWriteLessThanAnInterval()
    {
        var directory = _temp.Combine("digests");
        for (var run = 0; run < 100; run++)
        {
            var cache = Cache(directory, null, maxInMemory: 4, maxOnDisk: 640);
            for (var i = 0; i < 9; i++)
            {
                cache.Put(DigestCache.Key("layer", $"run {run} entry {i}", "none"), Descriptor);
            }

            await cache.Pruning;
        }

        Assert.InRange(Directory.GetFiles(directory, "*.json").Length, 0, 640 + 9);
    }

    [Fact]
    public void ADescriptorLetGoFromMemoryIsReadFromTheDirectoryAgain()
    {
        var cache = Cache(_temp.Combine("digests"), null, maxInMemory: 2, maxOnDisk: DigestCache.DefaultMaxOnDisk);
        for (var i = 0; i < 6; i++)
        {
            cache.Put(Key(i), Descriptor);
        }

        Assert.True(cache.TryGet(Key(0), out var first));
        Assert.Equal(Descriptor.Digest, first.Digest);
    }

    [Fact]
    public async Task TheDirectoryLosesItsOldestEntriesPastItsBoundAndNothingElse()
    {
        var directory = _temp.Combine("digests");
        var cache = Cache(directory, null, maxInMemory: 4, maxOnDisk: 64);
        File.WriteAllText(_temp.Combine("digests/not-an-entry.json"), "{}");
        for (var i = 0; i < 100; i++)
        {
            cache.Put(Key(i), Descriptor);
        }

        // Pruning runs off the writer, one at a time: the one the last entry starts sees every entry.
        await cache.Pruning;
        cache.Put(Key(100), Descriptor);
        await cache.Pruning;
        var entries = Directory.GetFiles(directory, "*.json").Select(Path.GetFileName).ToList();
        var fresh = Cache(directory);

        Assert.InRange(entries.Count - 1, 64 - 6, 64);
        Assert.Contains("not-an-entry.json", entries);
        Assert.False(fresh.TryGet(Key(0), out _));
        Assert.True(fresh.TryGet(Key(100), out _));
    }

    [Fact]
    public void AForgottenDescriptorIsNeitherInMemoryNorInTheDirectory()
    {
        var directory = _temp.Combine("digests");
        var cache = Cache(directory);
        cache.Put(Key(0), Descriptor);
        cache.Put(Key(1), Descriptor);

        cache.Forget(Key(0));

        Assert.False(cache.TryGet(Key(0), out _));
        Assert.False(Cache(directory).TryGet(Key(0), out _));
        Assert.True(Cache(directory).TryGet(Key(1), out _));
    }

    [Fact]
    public void StoringAKeyAgainReplacesItsDescriptor()
    {
        var cache = Cache(null);
        var replacement = Descriptor with { Size = 2048 };
        cache.Put(Key(0), Descriptor);

        cache.Put(Key(0), replacement);

        Assert.True(cache.TryGet(Key(0), out var stored));
        Assert.Equal(2048, stored.Size);
    }

    [Fact]
    public void AGzipIndexIsReadFromTheDirectoryAgain()
    {
        var directory = _temp.Combine("digests");
        var index = new GzipBlockIndex(65536, [100, 200, 37], 0xDEADBEEF, 140_000);
        Cache(directory).Put(Key(0), Descriptor with { MediaType = LayerMediaType.TarGzip, Size = index.Size, GzipIndex = index });

        Assert.True(Cache(directory).TryGet(Key(0), out var stored));
        Assert.NotNull(stored.GzipIndex);
        Assert.Equal((index.BlockSize, index.Crc32, index.TarLength), (stored.GzipIndex.BlockSize, stored.GzipIndex.Crc32, stored.GzipIndex.TarLength));
        Assert.Equal(index.CompressedLengths, stored.GzipIndex.CompressedLengths);
    }

    // A crash between a write and its rename leaves a temporary file no entry name matches; an old one goes, a fresh
    // one may be a write under way in another process.
    [Fact]
    public async Task PruningRemovesTheTemporaryFilesOfWritesACrashCutShort()
    {
        var directory = _temp.Combine("digests");
        Cache(directory).Put(Key(0), Descriptor);
        var abandoned = Path.Combine(directory, $"{Key(1)}.json.{new string('a', 32)}.tmp");
        var underWay = Path.Combine(directory, $"{Key(2)}.json.{new string('b', 32)}.tmp");
        var other = Path.Combine(directory, $"{Key(3)}.json.not-ours.tmp");
        foreach (var file in (string[])[abandoned, underWay, other])
        {
            File.WriteAllText(file, "{");
            File.SetLastWriteTimeUtc(file, DateTime.UtcNow.AddHours(file == underWay ? 0 : -2));
        }

        // The first entry a process writes makes it prune.
        var cache = Cache(directory);
        cache.Put(Key(4), Descriptor);
        await cache.Pruning;

        Assert.Equal([false, true, true], new[] { abandoned, underWay, other }.Select(File.Exists));
        Assert.True(cache.TryGet(Key(0), out _));
    }

    // The bound is what the directory may hold: reaching it is no reason to lose a tenth of the entries.
    [Fact]
    public async Task ADirectoryHoldingExactlyItsBoundLosesNothing()
    {
        var directory = _temp.Combine("digests");
        var cache = Cache(directory, null, maxInMemory: 4, maxOnDisk: 64);
        for (var i = 0; i < 64; i++)
        {
            cache.Put(Key(i), Descriptor);
            await cache.Pruning;
        }

        Assert.Equal(64, Directory.GetFiles(directory, "*.json").Length);
    }

    // 700 entries and a bound of 640 (an interval of 10): the one entry this process writes is the first, and looks.
    [Fact]
    public async Task AProcessThatWritesOneEntryPrunesTheDirectory()
    {
        var directory = _temp.Combine("digests");
        var filler = Cache(directory);
        for (var i = 0; i < 700; i++)
        {
            filler.Put(Key(i), Descriptor);
        }

        await filler.Pruning;
        var cache = Cache(directory, null, maxInMemory: 4, maxOnDisk: 640);
        cache.Put(Key(700), Descriptor);
        await cache.Pruning;

        Assert.InRange(Directory.GetFiles(directory, "*.json").Length, 0, 640);
    }

    // Four entries in one second, told apart by their fraction, then eight in later seconds at a smaller fraction:
    // pruning twelve down to nine drops the three oldest of the four, whichever order the directory lists them in.
    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task PruningDropsTheOldestWrittenByTheirFullTime(bool reversed)
    {
        var directory = _temp.Combine("digests");
        var writer = Cache(directory);
        var start = new DateTime(2020, 1, 1, 0, 0, 0, DateTimeKind.Utc);
        for (var i = 0; i < 11; i++)
        {
            writer.Put(Key(i), Descriptor);
            var written = i < 4 ? start.AddTicks(1000 * (reversed ? 4 - i : i + 1)) : start.AddSeconds(i - 3);
            File.SetLastWriteTimeUtc(Path.Combine(directory, Key(i) + ".json"), written);
        }

        await writer.Pruning;
        var cache = Cache(directory, null, maxInMemory: 4, maxOnDisk: 10);
        cache.Put(Key(11), Descriptor);
        await cache.Pruning;
        var fresh = Cache(directory);

        int[] dropped = reversed ? [1, 2, 3] : [0, 1, 2];
        Assert.Equal(
            Enumerable.Range(0, 12).Select(i => !dropped.Contains(i)),
            Enumerable.Range(0, 12).Select(i => fresh.TryGet(Key(i), out _)));
    }

    [Fact]
    public void ADescriptorReadFromTheDirectoryIsKeptInMemory()
    {
        var directory = _temp.Combine("digests");
        Cache(directory).Put(Key(0), Descriptor);
        var cache = Cache(directory);
        Assert.True(cache.TryGet(Key(0), out _));

        File.Delete(Path.Combine(directory, Key(0) + ".json"));

        Assert.True(cache.TryGet(Key(0), out var kept));
        Assert.Equal(Descriptor, kept);
    }

    [Theory]
    [InlineData("null")]
    [InlineData("{\"MediaType\":")]
    public void AnUnreadableEntryIsAMiss(string content)
    {
        var directory = _temp.Combine("digests");
        Cache(directory).Put(Key(0), Descriptor);
        File.WriteAllText(Path.Combine(directory, Key(0) + ".json"), content);

        Assert.False(Cache(directory).TryGet(Key(0), out _));
    }

    // Each is well-formed JSON that no export writes: a header could not carry it, or a gzip resume would fail on it.
    [Theory]
    [InlineData("\"MediaType\":\"text/html\"")]
    [InlineData("\"MediaType\":null")]
    [InlineData("\"Digest\":\"sha256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA\"")]
    [InlineData("\"Digest\":\"sha512:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\"")]
    [InlineData("\"Digest\":\"sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa0\"")]
    [InlineData("\"DiffId\":\"sha256:\\\"\"")]
    [InlineData("\"DiffId\":null")]
    [InlineData("\"Size\":-1")]
    [InlineData("\"GzipIndex\":{\"BlockSize\":512,\"CompressedLengths\":[100,100,137],\"Crc32\":0,\"TarLength\":1024}")]
    [InlineData("\"GzipIndex\":{\"BlockSize\":65536,\"CompressedLengths\":null,\"Crc32\":0,\"TarLength\":1024}")]
    [InlineData("\"GzipIndex\":{\"BlockSize\":65536,\"CompressedLengths\":[0,337],\"Crc32\":0,\"TarLength\":65536}")]
    [InlineData("\"GzipIndex\":{\"BlockSize\":65536,\"CompressedLengths\":[100,237],\"Crc32\":0,\"TarLength\":1024}")]
    [InlineData("\"GzipIndex\":{\"BlockSize\":65536,\"CompressedLengths\":[337],\"Crc32\":0,\"TarLength\":-1}")]
    [InlineData("\"GzipIndex\":{\"BlockSize\":65536,\"CompressedLengths\":[337],\"Crc32\":0,\"TarLength\":0}")]
    [InlineData("\"GzipIndex\":{\"BlockSize\":65536,\"CompressedLengths\":[338],\"Crc32\":0,\"TarLength\":1024}")]
    public void AnEntryHoldingWhatNoExportWritesIsAMiss(string damage)
    {
        var directory = _temp.Combine("digests");
        Cache(directory).Put(Key(0), Descriptor);
        File.WriteAllText(Path.Combine(directory, Key(0) + ".json"), GzipEntry(damage));

        Assert.False(Cache(directory).TryGet(Key(0), out _));
    }

    // Each value is one an index may hold, its lengths those of its tar; only the checksum tells the damage. A resume
    // would send a wrong CRC-32 or tar length as the trailer, a wrong block size would fail every resume.
    [Theory]
    [InlineData("\"Crc32\":1")]
    [InlineData("\"TarLength\":1025")]
    [InlineData("\"BlockSize\":131072")]
    [InlineData("\"Checksum\":\"04904d43d9e68d9d62d24363f00eebfa4f41cb7b6a38c3eb52b15b1d04425f91\"")]
    public void AGzipIndexUnlikeItsChecksumIsAMiss(string damage)
    {
        var directory = _temp.Combine("digests");
        Cache(directory).Put(Key(0), Descriptor);
        var path = Path.Combine(directory, Key(0) + ".json");
        var field = damage[..damage.IndexOf(':', StringComparison.Ordinal)];
        var entry = GzipEntry("");
        var start = entry.IndexOf(field, StringComparison.Ordinal);
        var end = entry.IndexOfAny([',', '}'], start);
        File.WriteAllText(path, entry[..start] + damage + entry[end..]);

        Assert.NotEqual(entry, File.ReadAllText(path));
        Assert.False(Cache(directory).TryGet(Key(0), out _));
    }

    // An older server kept its indexes without a checksum: the digest is still good, the index is not trusted for a range.
    [Fact]
    public void AGzipIndexKeptWithoutAChecksumIsLeftOutAndTheDescriptorKept()
    {
        var directory = _temp.Combine("digests");
        Cache(directory).Put(Key(0), Descriptor);
        File.WriteAllText(Path.Combine(directory, Key(0) + ".json"), GzipEntry("").Replace(",\"Checksum\":\"" + GzipChecksum + "\"", "", StringComparison.Ordinal));

        Assert.True(Cache(directory).TryGet(Key(0), out var stored));
        Assert.Equal((LayerMediaType.TarGzip, 355L), (stored.MediaType, stored.Size));
        Assert.Null(stored.GzipIndex);
    }

    // A plain tar's check is kept beside its diffID; a value no export writes, or a check on a compressed body, is a miss.
    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef", "application/vnd.oci.image.layer.v1.tar", true)]
    [InlineData("0123456789ABCDEF0123456789ABCDEF", "application/vnd.oci.image.layer.v1.tar", false)]
    [InlineData("0123456789abcdef", "application/vnd.oci.image.layer.v1.tar", false)]
    [InlineData("0123456789abcdef0123456789abcdef", "application/vnd.oci.image.layer.v1.tar+zstd", false)]
    public void APlainTarsCheckIsKeptAndOnlyOfTheFormAnExportWrites(string check, string mediaType, bool kept)
    {
        var directory = _temp.Combine("digests");
        Cache(directory).Put(Key(0), Descriptor with { TarCheck = "0123456789abcdef0123456789abcdef" });
        var path = Path.Combine(directory, Key(0) + ".json");
        File.WriteAllText(path, File.ReadAllText(path)
            .Replace("0123456789abcdef0123456789abcdef", check, StringComparison.Ordinal)
            .Replace("\"application/vnd.oci.image.layer.v1.tar\"", $"\"{mediaType}\"", StringComparison.Ordinal));

        Assert.Equal(kept, Cache(directory).TryGet(Key(0), out var stored));
        Assert.Equal(kept ? check : null, stored?.TarCheck);
    }

    // A compressed body's check is kept beside its digest; a value no export writes, or a body check on a plain tar, is a miss.
    [Theory]
    [InlineData("0123456789abcdef0123456789abcdef", "application/vnd.oci.image.layer.v1.tar+zstd", true)]
    [InlineData("0123456789abcdef0123456789abcdef", "application/vnd.oci.image.layer.v1.tar+gzip", true)]
    [InlineData("0123456789ABCDEF0123456789ABCDEF", "application/vnd.oci.image.layer.v1.tar+zstd", false)]
    [InlineData("0123456789abcdef0123456789abcdeg", "application/vnd.oci.image.layer.v1.tar+zstd", false)]
    [InlineData("0123456789abcdef0123456789abcdef", "application/vnd.oci.image.layer.v1.tar", false)]
    public void ACompressedBodysCheckIsKeptAndOnlyOfTheFormAnExportWrites(string check, string mediaType, bool kept)
    {
        var directory = _temp.Combine("digests");
        var body = Descriptor with { MediaType = LayerMediaType.TarZstd, BodyCheck = "0123456789abcdef0123456789abcdef" };
        Cache(directory).Put(Key(0), body);
        var path = Path.Combine(directory, Key(0) + ".json");
        var entry = JsonNode.Parse(File.ReadAllText(path))!.AsObject();
        entry["BodyCheck"] = check;
        entry["MediaType"] = mediaType;
        File.WriteAllText(path, entry.ToJsonString());

        Assert.Equal(kept, Cache(directory).TryGet(Key(0), out var stored));
        Assert.Equal(kept ? check : null, stored?.BodyCheck);
    }

    // No representation of a layer is empty: a tar holds at least its two end blocks.
    [Fact]
    public void AnEntryOfNoBytesIsAMiss()
    {
        var directory = _temp.Combine("digests");
        Cache(directory).Put(Key(0), Descriptor);
        var path = Path.Combine(directory, Key(0) + ".json");
        var entry = File.ReadAllText(path);
        File.WriteAllText(path, entry.Replace("\"Size\":1024", "\"Size\":0", StringComparison.Ordinal));

        Assert.Contains("\"Size\":0", File.ReadAllText(path), StringComparison.Ordinal);
        Assert.False(Cache(directory).TryGet(Key(0), out _));
    }

    // An entry is read whole into memory: up to 16 MiB, whitespace included, and not a byte more.
    [Theory]
    [InlineData(0, true)]
    [InlineData(1, false)]
    public void AnEntryIsReadUpToSixteenMebibytes(int beyond, bool read)
    {
        var directory = _temp.Combine("digests");
        Cache(directory).Put(Key(0), Descriptor);
        var entry = GzipEntry("");
        File.WriteAllText(Path.Combine(directory, Key(0) + ".json"), entry.PadRight((16 * 1024 * 1024) + beyond));

        Assert.Equal(read, Cache(directory).TryGet(Key(0), out _));
    }

    // A file cut short after its size was taken reads short: a miss, not a read that waits for bytes that never come.
    [Fact]
    public void AnEntryCutShortWhileItIsReadIsAMiss()
    {
        var directory = _temp.Combine("digests");
        Cache(directory).Put(Key(0), Descriptor);
        var path = Path.Combine(directory, Key(0) + ".json");
        var cache = Cache(directory);
        var reads = 0;

        var found = SyscallRace.AtRead(
            () => cache.TryGet(Key(0), out _),
            () =>
            {
                if (reads++ == 0)
                {
                    using var file = File.OpenHandle(path, FileMode.Open, FileAccess.Write);
                    RandomAccess.SetLength(file, 10);
                }
            });

        Assert.False(found);
        Assert.Equal(2, reads);
    }

    [Fact]
    public void AnEntryAsAnExportWritesItIsAHit()
    {
        var directory = _temp.Combine("digests");
        Cache(directory).Put(Key(0), Descriptor);
        File.WriteAllText(Path.Combine(directory, Key(0) + ".json"), GzipEntry(""));

        Assert.True(Cache(directory).TryGet(Key(0), out var stored));
        Assert.Equal((LayerMediaType.TarGzip, 355L, 1), (stored.MediaType, stored.Size, stored.GzipIndex?.CompressedLengths.Count));
    }

    // Something that is no file where the entry goes: the write fails, is told, and leaves no temporary file.
    [Fact]
    public void AnEntryThatCannotBeStoredIsToldAndKeptInMemoryOnly()
    {
        var directory = _temp.Combine("digests");
        var failures = new List<string>();
        var cache = Cache(directory, failures.Add);
        Directory.CreateDirectory(Path.Combine(directory, Key(0) + ".json"));

        cache.Put(Key(0), Descriptor);

        Assert.Single(failures);
        Assert.True(cache.TryGet(Key(0), out _));
        Assert.Equal([Key(0) + ".json"], Directory.GetFileSystemEntries(directory).Select(Path.GetFileName));
    }

    [Fact]
    public void ADirectoryMadeUnsafeSinceTheStartIsToldAndNotWritten()
    {
        var directory = _temp.Combine("digests");
        var failures = new List<string>();
        var cache = Cache(directory, failures.Add);
        Posix.ChangeMode(directory, Convert.ToInt32("777", 8));

        cache.Put(Key(0), Descriptor);

        Assert.Single(failures);
        Assert.True(cache.TryGet(Key(0), out _));
        Assert.Empty(Directory.GetFileSystemEntries(directory));
    }

    // A full disk fails every new digest alike: a warning each would flood the log with one line per layer.
    [Fact]
    public void EntriesThatCannotBeStoredAreToldOnceUntilOneIsStoredAgain()
    {
        var directory = _temp.Combine("digests");
        var failures = new List<string>();
        var cache = Cache(directory, failures.Add);
        Posix.ChangeMode(directory, Convert.ToInt32("777", 8));
        cache.Put(Key(0), Descriptor);
        Posix.ChangeMode(directory, Convert.ToInt32("700", 8));
        Directory.CreateDirectory(Path.Combine(directory, Key(1) + ".json"));
        cache.Put(Key(1), Descriptor);

        Assert.Single(failures);

        cache.Put(Key(2), Descriptor);
        Directory.CreateDirectory(Path.Combine(directory, Key(3) + ".json"));
        cache.Put(Key(3), Descriptor);

        Assert.Equal(2, failures.Count);
        Assert.True(Cache(directory).TryGet(Key(2), out _));
    }

    [Fact]
    public void EveryDirectoryItCreatesIsPrivate()
    {
        _ = Cache(_temp.Combine("layer-export/cache/digests"));

        Assert.All(
            ["layer-export", "layer-export/cache", "layer-export/cache/digests"],
            created => Assert.Equal(Convert.ToInt32("700", 8), Posix.Stat(_temp.Combine(created)).Mode & 0xFFF));
    }

    [Fact]
    public void AnAncestorPlantedByAnotherUserIsRefused()
    {
        // The attack on the old default: someone else creates $TMPDIR/layer-export before the server does.
        Directory.CreateDirectory(_temp.Combine("layer-export"));
        Posix.ChangeOwner(_temp.Combine("layer-export"), Nobody, Nobody);

        var refusal = Assert.Throws<UnsafeDirectoryException>(() => Cache(_temp.Combine("layer-export/digests")));

        Assert.Contains($"'{_temp.Combine("layer-export")}' belongs to uid {Nobody}", refusal.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_temp.Combine("layer-export/digests")));
    }

    [Fact]
    public void ACacheDirectoryOfAnotherUserIsRefused()
    {
        Directory.CreateDirectory(_temp.Combine("digests"));
        Posix.ChangeOwner(_temp.Combine("digests"), Nobody, Nobody);

        var refusal = Assert.Throws<UnsafeDirectoryException>(() => Cache(_temp.Combine("digests")));

        Assert.Contains("must belong to this process's user", refusal.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("777")]
    [InlineData("1777")]
    [InlineData("770")]
    public void ACacheDirectoryOthersCanWriteIsRefused(string mode)
    {
        Directory.CreateDirectory(_temp.Combine("digests"));
        Posix.ChangeMode(_temp.Combine("digests"), Convert.ToInt32(mode, 8));

        Assert.Throws<UnsafeDirectoryException>(() => Cache(_temp.Combine("digests")));
    }

    [Fact]
    public void ASymlinkOnThePathIsRefused()
    {
        Directory.CreateDirectory(_temp.Combine("elsewhere"));
        File.CreateSymbolicLink(_temp.Combine("link"), _temp.Combine("elsewhere"));

        var refusal = Assert.Throws<UnsafeDirectoryException>(() => Cache(_temp.Combine("link/digests")));

        Assert.Contains($"'{_temp.Combine("link")}' is a symlink", refusal.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(_temp.Combine("elsewhere/digests")));
    }

    [Fact]
    public void AnEntryIsNeverReadThroughASymlink()
    {
        var directory = _temp.Combine("digests");
        var key = DigestCache.Key("layer", "fingerprint", "tar");
        var planted = _temp.Combine("planted.json");
        Cache(directory).Put(key, Descriptor);
        File.Copy(Path.Combine(directory, key + ".json"), planted);
        File.Delete(Path.Combine(directory, key + ".json"));
        File.CreateSymbolicLink(Path.Combine(directory, key + ".json"), planted);

        Assert.False(Cache(directory).TryGet(key, out _));
    }

    [Fact]
    public void AnEntryOfAnotherUserIsIgnored()
    {
        var directory = _temp.Combine("digests");
        var key = DigestCache.Key("layer", "fingerprint", "tar");
        Cache(directory).Put(key, Descriptor);
        Posix.ChangeOwner(Path.Combine(directory, key + ".json"), Nobody, Nobody);

        Assert.False(Cache(directory).TryGet(key, out _));
    }

    [Fact]
    public void ADirectoryOthersCanWriteSinceTheStartIsNoLongerRead()
    {
        var directory = _temp.Combine("digests");
        var cache = Cache(directory);
        var key = DigestCache.Key("layer", "fingerprint", "tar");
        Cache(directory).Put(key, Descriptor);
        Posix.ChangeMode(directory, Convert.ToInt32("777", 8));

        Assert.False(cache.TryGet(key, out _));
    }

    [Fact]
    public void ASymlinkAtTheOldTemporaryNameIsNotFollowed()
    {
        var directory = _temp.Combine("digests");
        var cache = Cache(directory);
        var key = DigestCache.Key("layer", "fingerprint", "tar");
        var victim = _temp.Combine("victim");
        File.WriteAllText(victim, "untouched");
        File.CreateSymbolicLink(Path.Combine(directory, $"{key}.json.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp"), victim);

        cache.Put(key, Descriptor);

        Assert.Equal("untouched", File.ReadAllText(victim, Encoding.UTF8));
        Assert.True(Cache(directory).TryGet(key, out var stored));
        Assert.Equal(Descriptor, stored);
    }

    private DigestCache Cache(string? directory, Action<string>? writeFailed = null, int maxInMemory = DigestCache.DefaultMaxInMemory, int maxOnDisk = DigestCache.DefaultMaxOnDisk)
    {
        var cache = new DigestCache(directory, writeFailed, maxInMemory, maxOnDisk);
        _caches.Add(cache);
        return cache;
    }

    private static string Key(int i) => DigestCache.Key("layer", $"fingerprint {i}", "none");

    // SHA-256 of that index's fields, little-endian (65536, 1024, 0, 337), as Python's hashlib and struct make it.
    private const string GzipChecksum = "44904d43d9e68d9d62d24363f00eebfa4f41cb7b6a38c3eb52b15b1d04425f91";

    // A consistent gzip entry (one block of a 1 KiB tar: 10 + 337 + 8 bytes) with one member replaced by damage.
    private static string GzipEntry(string damage)
    {
        var members = new Dictionary<string, string>
        {
            ["MediaType"] = "\"MediaType\":\"application/vnd.oci.image.layer.v1.tar+gzip\"",
            ["Digest"] = "\"Digest\":\"sha256:" + new string('a', 64) + "\"",
            ["Size"] = "\"Size\":355",
            ["DiffId"] = "\"DiffId\":\"sha256:" + new string('b', 64) + "\"",
            ["GzipIndex"] = "\"GzipIndex\":{\"BlockSize\":65536,\"CompressedLengths\":[337],\"Crc32\":0,\"TarLength\":1024,\"Checksum\":\"" + GzipChecksum + "\"}",
        };
        if (damage.Length > 0)
        {
            members[damage[1..damage.IndexOf('"', 1)]] = damage;
        }

        return "{" + string.Join(",", members.Values) + "}";
    }
}
