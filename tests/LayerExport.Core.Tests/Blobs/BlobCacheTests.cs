using System.IO.Hashing;
using System.IO.Pipelines;
using System.Security.Cryptography;
using LayerExport.Core.Blobs;
using LayerExport.Core.Digest;
using LayerExport.Core.Native;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Blobs;

/// <summary>The kept bodies: found only by a digest of their own, within a bound, and never sent whole unless they still have that digest.</summary>
public sealed class BlobCacheTests : IAsyncLifetime, IDisposable
{
    private const int Mebibyte = 1 << 20;

    private readonly TempDirectory _temp = new();
    private readonly List<BlobCache> _caches = [];

    // Under a umask that lets the group write, the scratch directory itself would be refused as an ancestor.
    public BlobCacheTests() => Posix.ChangeMode(_temp.Path, Convert.ToInt32("755", 8));

    private string Directory => _temp.Combine("blobs");

    public Task InitializeAsync() => Task.CompletedTask;

    // Before Dispose: a prune still running would open (and so create) the directory again after it is deleted.
    public Task DisposeAsync() => Task.WhenAll(_caches.Select(cache => cache.Pruning));

    public void Dispose() => _temp.Dispose();

    [Fact]
    public async Task TheBodiesKeptFirstGoFirstOnceTheBoundIsPassed()
    {
        var cache = Cache(Mebibyte);
        var bodies = Enumerable.Range(0, 3).Select(_ => RandomNumberGenerator.GetBytes(400 * 1024)).ToArray();

        foreach (var body in bodies)
        {
            Assert.True(Keep(cache, body));
        }

        await cache.Pruning;
        Assert.Equal(
            bodies[1..].Select(Name).Order(StringComparer.Ordinal),
            System.IO.Directory.GetFiles(Directory).Select(Path.GetFileName).Order(StringComparer.Ordinal));
        Assert.Null(cache.TryOpen(DescriptorOf(bodies[0])));
    }

    [Fact]
    public void ACopyThatGrowsPastTheBoundIsGivenUpAndLeavesNothing()
    {
        var cache = Cache(Mebibyte);
        var body = RandomNumberGenerator.GetBytes(Mebibyte + 1);

        using (var copy = cache.StartCopy(Guid.NewGuid().ToString())!)
        {
            copy.Append(body.AsSpan(0, Mebibyte));
            Assert.False(copy.GivenUp);
            copy.Append(body.AsSpan(Mebibyte));

            Assert.True(copy.GivenUp);
            Assert.Empty(System.IO.Directory.GetFileSystemEntries(Directory));
            Assert.False(copy.Keep(DescriptorOf(body).Digest, body.Length));
        }

        Assert.Empty(System.IO.Directory.GetFileSystemEntries(Directory));
    }

    [Fact]
    public void OneStateIsCopiedByOneDownloadAtATime()
    {
        var cache = Cache(Mebibyte);

        using (var first = cache.StartCopy("layer\nstate\ngzip"))
        {
            Assert.NotNull(first);
            Assert.Null(cache.StartCopy("layer\nstate\ngzip"));
            using var other = cache.StartCopy("layer\nstate\nzstd");
            Assert.NotNull(other);
        }

        using var after = cache.StartCopy("layer\nstate\ngzip");
        Assert.NotNull(after);
    }

    [Fact]
    public void ACopyNotKeptLeavesNothingAndOneShortOfItsSizeIsNotKept()
    {
        var cache = Cache(Mebibyte);
        var body = RandomNumberGenerator.GetBytes(1000);

        using (var copy = cache.StartCopy(Guid.NewGuid().ToString())!)
        {
            copy.Append(body);
            Assert.Single(System.IO.Directory.GetFiles(Directory));
        }

        using (var shortCopy = cache.StartCopy(Guid.NewGuid().ToString())!)
        {
            shortCopy.Append(body.AsSpan(1));
            Assert.False(shortCopy.Keep(DescriptorOf(body).Digest, body.Length));
        }

        Assert.Empty(System.IO.Directory.GetFileSystemEntries(Directory));
    }

    [Fact]
    public async Task EveryWriteToTheBodyGoesToTheCopyTooSyncOrAsync()
    {
        var cache = Cache(Mebibyte);
        var body = RandomNumberGenerator.GetBytes(3000);
        using var sent = new MemoryStream();

        using (var copy = cache.StartCopy("layer\nstate\ngzip")!)
        {
            await using (var stream = new BlobCopyStream(sent, copy))
            {
                stream.Write(body.AsSpan(0, 1000));
                await stream.WriteAsync(body.AsMemory(1000, 1000));
                stream.Write(body, 2000, 1000);
            }

            Assert.True(copy.Keep(DescriptorOf(body).Digest, body.Length));
        }

        Assert.Equal(body, sent.ToArray());
        Assert.Equal(body, File.ReadAllBytes(Path.Combine(Directory, Name(body))));
    }

    [Theory]
    [InlineData("sha512:" + "ab")]
    [InlineData("sha256:../../../../etc/passwd")]
    [InlineData("sha256:ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789ABCDEF0123456789")]
    [InlineData("sha256:abcdef0123456789abcdef0123456789abcdef0123456789abcdef012345678")]
    public void OnlyASha256OfLowercaseHexNamesAKeptBody(string digest)
    {
        var cache = Cache(Mebibyte);
        var body = RandomNumberGenerator.GetBytes(100);

        using var copy = cache.StartCopy(Guid.NewGuid().ToString())!;
        copy.Append(body);

        Assert.False(copy.Keep(new LayerDigest(digest), body.Length));
        Assert.Null(cache.TryOpen(DescriptorOf(body) with { Digest = new LayerDigest(digest) }));
        Assert.Null(BlobCache.EntryName(new LayerDigest(digest)));
    }

    [Fact]
    public void AFileOfAnotherSizeOrASymlinkUnderTheNameIsNotABody()
    {
        var cache = Cache(Mebibyte);
        var body = RandomNumberGenerator.GetBytes(100);
        var other = _temp.Combine("other");
        File.WriteAllBytes(other, body);
        System.IO.Directory.CreateDirectory(Directory);

        File.WriteAllBytes(Path.Combine(Directory, Name(body)), body[1..]);
        Assert.Null(cache.TryOpen(DescriptorOf(body)));

        File.Delete(Path.Combine(Directory, Name(body)));
        File.CreateSymbolicLink(Path.Combine(Directory, Name(body)), other);
        Assert.Null(cache.TryOpen(DescriptorOf(body)));
    }

    [Fact]
    public async Task ADamagedBodyIsSentAllButItsLastByteAndFails()
    {
        var cache = Cache(Mebibyte);
        var body = RandomNumberGenerator.GetBytes(300 * 1024);
        Assert.True(Keep(cache, body));
        var path = Path.Combine(Directory, Name(body));
        var damaged = body.ToArray();
        damaged[1234] ^= 0x40;
        File.WriteAllBytes(path, damaged);

        using var blob = cache.TryOpen(DescriptorOf(body))!;
        var pipe = new Pipe();
        var sent = ReadAllAsync(pipe.Reader);
        var failure = await Assert.ThrowsAsync<InvalidDataException>(() => blob.WriteAsync(pipe.Writer, 0, body.Length, CancellationToken.None));
        await pipe.Writer.FlushAsync();
        await pipe.Writer.CompleteAsync();

        Assert.Contains($"now has digest sha256:{Convert.ToHexStringLower(SHA256.HashData(damaged))}", failure.Message, StringComparison.Ordinal);
        Assert.Equal(damaged[..^1], await sent);
    }

    // A descriptor that kept its body's check has the body held to it, not to its SHA-256 (decision 0021): a digest
    // the body does not have, sealed with the body's own checksum, goes through; a body damaged since does not.
    [Fact]
    public async Task AKeptBodyIsHeldToTheCheckItsDescriptorKeptNotToItsSha256()
    {
        var cache = Cache(Mebibyte);
        var body = RandomNumberGenerator.GetBytes(300 * 1024);
        var other = new LayerDigest("sha256:" + new string('e', 64));
        using (var copy = cache.StartCopy(Guid.NewGuid().ToString())!)
        {
            copy.Append(body);
            Assert.True(copy.Keep(other, body.Length));
        }

        var checkedDescriptor = DescriptorOf(body) with { Digest = other, BodyCheck = SealedChecksum.Seal(other, XxHash128.HashToUInt128(body)) };
        using (var blob = cache.TryOpen(checkedDescriptor)!)
        {
            var pipe = new Pipe();
            var sent = ReadAllAsync(pipe.Reader);
            await blob.WriteAsync(pipe.Writer, 0, body.Length, CancellationToken.None);
            await pipe.Writer.CompleteAsync();
            Assert.Equal(body, await sent);
        }

        var damaged = body.ToArray();
        damaged[4321] ^= 0x08;
        File.WriteAllBytes(Path.Combine(Directory, "sha256-" + new string('e', 64)), damaged);
        using (var blob = cache.TryOpen(checkedDescriptor)!)
        {
            var pipe = new Pipe();
            var sent = ReadAllAsync(pipe.Reader);
            var failure = await Assert.ThrowsAsync<InvalidDataException>(() => blob.WriteAsync(pipe.Writer, 0, body.Length, CancellationToken.None));
            await pipe.Writer.FlushAsync();
            await pipe.Writer.CompleteAsync();
            Assert.Contains("no longer has the checksum kept with its descriptor", failure.Message, StringComparison.Ordinal);
            Assert.Equal(damaged[..^1], await sent);
        }
    }

    [Theory]
    [InlineData(0, 300 * 1024)]
    [InlineData(1, 2)]
    [InlineData(70_000, 300 * 1024)]
    [InlineData(299 * 1024, 300 * 1024)]
    public async Task ARangeOfAKeptBodyIsThatSliceOfIt(int start, int end)
    {
        var cache = Cache(Mebibyte);
        var body = RandomNumberGenerator.GetBytes(300 * 1024);
        Assert.True(Keep(cache, body));

        using var blob = cache.TryOpen(DescriptorOf(body))!;
        var pipe = new Pipe();
        var sent = ReadAllAsync(pipe.Reader);
        await blob.WriteAsync(pipe.Writer, start, end, CancellationToken.None);
        await pipe.Writer.CompleteAsync();

        Assert.Equal(body[start..end], await sent);
    }

    [Fact]
    public async Task ACopyACrashLeftBehindIsRemovedAfterADayAndAYoungerOneIsLeft()
    {
        var cache = Cache(Mebibyte);
        System.IO.Directory.CreateDirectory(Directory);
        var abandoned = Path.Combine(Directory, new string('a', 32) + ".tmp");
        var underWay = Path.Combine(Directory, new string('b', 32) + ".tmp");
        var foreign = Path.Combine(Directory, "notes.txt");
        foreach (var path in new[] { abandoned, underWay, foreign })
        {
            File.WriteAllBytes(path, [1, 2, 3]);
            File.SetLastWriteTimeUtc(path, path == underWay ? DateTime.UtcNow.AddHours(-23) : DateTime.UtcNow.AddDays(-2));
        }

        Assert.True(Keep(cache, RandomNumberGenerator.GetBytes(10)));
        await cache.Pruning;

        Assert.False(File.Exists(abandoned));
        Assert.True(File.Exists(underWay));
        Assert.True(File.Exists(foreign));
    }

    // A descriptor an older server kept has no body check: its body is held to its SHA-256 once, and the read gives the
    // check it took, for the descriptor to keep; one with a check is given back as it was.
    [Fact]
    public async Task AKeptBodyReadForADescriptorWithoutACheckGivesTheCheckItTook()
    {
        var cache = Cache(Mebibyte);
        var body = RandomNumberGenerator.GetBytes(100 * 1024);
        Assert.True(Keep(cache, body));
        var withoutCheck = DescriptorOf(body);

        LayerDescriptor read;
        using (var blob = cache.TryOpen(withoutCheck)!)
        {
            var pipe = new Pipe();
            var sent = ReadAllAsync(pipe.Reader);
            read = await blob.WriteAsync(pipe.Writer, 0, body.Length, CancellationToken.None);
            await pipe.Writer.CompleteAsync();
            Assert.Equal(body, await sent);
        }

        Assert.Equal(withoutCheck with { BodyCheck = SealedChecksum.Seal(withoutCheck.Digest, XxHash128.HashToUInt128(body)) }, read);
        using (var blob = cache.TryOpen(read)!)
        {
            var pipe = new Pipe();
            var sent = ReadAllAsync(pipe.Reader);
            Assert.Same(read, await blob.WriteAsync(pipe.Writer, 0, body.Length, CancellationToken.None));
            await pipe.Writer.CompleteAsync();
            await sent;
        }
    }

    // What a crash left is pruned at start (PruneSoon, as the host calls it), not only once a body is kept after it.
    [Fact]
    public async Task APruneAskedForWithNoBodyKeptRemovesWhatACrashLeft()
    {
        var cache = Cache(Mebibyte);
        System.IO.Directory.CreateDirectory(Directory);
        var abandoned = Path.Combine(Directory, new string('c', 32) + ".tmp");
        File.WriteAllBytes(abandoned, [1, 2, 3]);
        File.SetLastWriteTimeUtc(abandoned, DateTime.UtcNow.AddDays(-2));

        cache.PruneSoon();
        await cache.Pruning;

        Assert.False(File.Exists(abandoned));
    }

    // A body found damaged or unreadable is removed; where the file stays (a file system remounted read-only after
    // errors cannot unlink it), or comes back, it is not opened again until a copy of that digest is kept anew.
    [Fact]
    public void ARemovedBodyIsNotOpenedAgainUntilACopyOfItsDigestIsKept()
    {
        var cache = Cache(Mebibyte);
        var body = RandomNumberGenerator.GetBytes(1000);
        Assert.True(Keep(cache, body));

        cache.Remove(DescriptorOf(body).Digest);
        File.WriteAllBytes(Path.Combine(Directory, Name(body)), body);

        Assert.Null(cache.TryOpen(DescriptorOf(body)));
        Assert.False(cache.Holds(DescriptorOf(body)));
        Assert.True(Keep(cache, body));
        using var blob = cache.TryOpen(DescriptorOf(body));
        Assert.NotNull(blob);
        Assert.True(cache.Holds(DescriptorOf(body)));
    }

    // A read the disk fails is the body not read back, as a damaged one: the caller removes it and fails the transfer
    // for a retry, which makes the body again; it is told from damage by the I/O error inside.
    [Fact]
    public async Task AKeptBodyThatCannotBeReadFailsAsNotReadBackWithTheErrorInsideAndSendsNothing()
    {
        var descriptor = DescriptorOf(RandomNumberGenerator.GetBytes(1000));
        System.IO.Directory.CreateDirectory(Directory);

        // A directory's descriptor: every read of it fails (EISDIR), as a bad sector's does (EIO).
        using var blob = new CachedBlob(FileDescriptor.OpenDirectory(Directory), descriptor);
        var pipe = new Pipe();
        var sent = ReadAllAsync(pipe.Reader);
        var failure = await Assert.ThrowsAsync<InvalidDataException>(() => blob.WriteAsync(pipe.Writer, 0, descriptor.Size, CancellationToken.None));
        await pipe.Writer.CompleteAsync();

        Assert.IsAssignableFrom<IOException>(failure.InnerException);
        Assert.Contains($"the kept body of {descriptor.Digest} cannot be read at 0 bytes", failure.Message, StringComparison.Ordinal);
        Assert.Empty(await sent);
    }

    private static bool Keep(BlobCache cache, byte[] body)
    {
        using var copy = cache.StartCopy(Guid.NewGuid().ToString())!;
        copy.Append(body);
        return copy.Keep(DescriptorOf(body).Digest, body.Length);
    }

    private static LayerDescriptor DescriptorOf(byte[] body) =>
        new("application/vnd.oci.image.layer.v1.tar+gzip", LayerDigest.FromHash(SHA256.HashData(body)), body.Length, new LayerDigest("sha256:" + new string('0', 64)));

    private static string Name(byte[] body) => "sha256-" + Convert.ToHexStringLower(SHA256.HashData(body));

    private static async Task<byte[]> ReadAllAsync(PipeReader reader)
    {
        using var all = new MemoryStream();
        await reader.CopyToAsync(all);
        return all.ToArray();
    }

    private BlobCache Cache(long maxBytes)
    {
        var cache = new BlobCache(Directory, maxBytes);
        _caches.Add(cache);
        return cache;
    }
}
