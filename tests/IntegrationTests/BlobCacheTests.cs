using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using System.Text.RegularExpressions;
using IntegrationTests.Support;
using LayerExport.TestSupport;
using LayerExportApi.Hosting;

namespace IntegrationTests;

/// <summary>With <c>BlobCache:Directory</c> set, a compressed body is kept under its digest and read back, checked, by later downloads of the same layer state.</summary>
public sealed class BlobCacheTests : IDisposable
{
    // Incompressible, so that a body is larger than what the response holds back before its first flush (64 KiB).
    private const int LargeFileBytes = 512 * 1024;

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("small")
        .AddFile("small", "etc/hostname", "small\n"u8.ToArray())
        .AddLayer("large")
        .AddFile("large", "data/random.bin", RandomNumberGenerator.GetBytes(LargeFileBytes))
        .AddFile("large", "etc/motd", "large\n"u8.ToArray());

    private readonly string _scratch = Directory.CreateTempSubdirectory("blob-cache-").FullName;

    private string Blobs => Path.Combine(_scratch, "blobs");

    private string Digests => Path.Combine(_scratch, "digests");

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_scratch, recursive: true);
    }

    [Theory]
    [InlineData("gzip", "-z")]
    [InlineData("zstd", "--zstd")]
    public async Task TheSecondDownloadKeepsItsBodyAndTheThirdIsThatBodyByteForByte(string compression, string tarOption)
    {
        await using var server = Start();
        using var http = server.CreateClient();
        var path = $"/layers/large/tar?compression={compression}";

        // A state pulled once is not kept: the first download only learns its digest.
        var first = await http.GetByteArrayAsync(new Uri(path, UriKind.Relative));
        Assert.Empty(Directory.GetFileSystemEntries(Blobs));

        // The second keeps it under its own digest, holding exactly the body sent, once its export ended.
        Assert.Equal(first, await http.GetByteArrayAsync(new Uri(path, UriKind.Relative)));
        await server.Logs.WaitForExportOutcomesAsync("large", 2);
        var digest = Convert.ToHexStringLower(SHA256.HashData(first));
        Assert.Equal([$"sha256-{digest}"], Directory.GetFileSystemEntries(Blobs).Select(Path.GetFileName));
        Assert.Equal(first, await File.ReadAllBytesAsync(Path.Combine(Blobs, $"sha256-{digest}")));

        // The third is sent from there, not made again.
        using var third = await http.GetAsync(new Uri(path, UriKind.Relative));
        var sent = await third.Content.ReadAsByteArrayAsync();
        Assert.Equal(HttpStatusCode.OK, third.StatusCode);
        Assert.Equal($"sha256:{digest}", third.Headers.GetValues("Docker-Content-Digest").Single());
        Assert.Equal(first, sent);
        await server.Logs.WaitForAsync(e => e.RenderMessage().Contains($"bytes 0-{first.Length - 1} sent from the kept body", StringComparison.Ordinal), "the body sent from the kept body");
        var metrics = await PrometheusScrape.TakeAsync(http);
        Assert.Equal(1, metrics.Value("layer_export_kept_bodies_sent_total", ("representation", compression)));

        var archive = Path.Combine(_scratch, "third");
        await File.WriteAllBytesAsync(archive, sent);
        Assert.Equal("large\n", await GnuTar.ReadMemberAsync(archive, "etc/motd", tarOption));
    }

    [Fact]
    public async Task TheKeptBodyIsTheOneAServerWithoutTheCacheMakes()
    {
        byte[] kept;
        await using (var server = Start())
        {
            using var http = server.CreateClient();
            await KeepAsync(server, http, "large", "/layers/large/tar?compression=gzip");
            kept = await http.GetByteArrayAsync(new Uri("/layers/large/tar?compression=gzip", UriKind.Relative));
            await server.Logs.WaitForAsync(e => e.RenderMessage().Contains("sent from the kept body", StringComparison.Ordinal), "the body sent from the kept body");
        }

        await using var plain = ApiServer.Start(_store.Root);
        using var client = plain.CreateClient();

        Assert.Equal(await client.GetByteArrayAsync(new Uri("/layers/large/tar?compression=gzip", UriKind.Relative)), kept);
    }

    [Fact]
    public async Task AKeptBodyDamagedOnDiskFailsItsTransferIsRemovedAndIsKeptAgain()
    {
        await using var server = Start();
        using var http = server.CreateClient();
        var (first, kept) = await KeepAsync(server, http, "large", "/layers/large/tar?compression=zstd");
        await using (var file = new FileStream(kept, FileMode.Open, FileAccess.ReadWrite))
        {
            file.Position = first.Length / 2;
            var original = file.ReadByte();
            file.Position = first.Length / 2;
            file.WriteByte((byte)(original ^ 0xFF));
        }

        // The damage lies after what the response holds back: the body has started, so the transfer fails short.
        using var damaged = await http.GetAsync(new Uri("/layers/large/tar?compression=zstd", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, damaged.StatusCode);
        Assert.Equal(first.Length, damaged.Content.Headers.ContentLength);
        await Assert.ThrowsAnyAsync<Exception>(() => damaged.Content.ReadAsByteArrayAsync());

        Assert.False(File.Exists(kept), "the damaged body is still kept");
        Assert.Equal(first, await http.GetByteArrayAsync(new Uri("/layers/large/tar?compression=zstd", UriKind.Relative)));
        await server.Logs.WaitForExportOutcomesAsync("large", 4);
        Assert.Equal(first, await File.ReadAllBytesAsync(kept));
    }

    [Fact]
    public async Task ASmallKeptBodyFoundDamagedIsAProblemBeforeAnyByte()
    {
        await using var server = Start();
        using var http = server.CreateClient();
        var (first, kept) = await KeepAsync(server, http, "small", "/layers/small/tar?compression=gzip");
        var bytes = await File.ReadAllBytesAsync(kept);
        bytes[^5] ^= 0x01;
        await File.WriteAllBytesAsync(kept, bytes);

        using var damaged = await http.GetAsync(new Uri("/layers/small/tar?compression=gzip", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(damaged, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:layer-changing", problem.GetProperty("type").GetString());
        Assert.False(File.Exists(kept), "the damaged body is still kept");
        Assert.Equal(first, await http.GetByteArrayAsync(new Uri("/layers/small/tar?compression=gzip", UriKind.Relative)));
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task ARangeOfAKeptBodyIsThatSliceOfIt(string compression)
    {
        await using var server = Start();
        using var http = server.CreateClient();
        var (whole, _) = await KeepAsync(server, http, "large", $"/layers/large/tar?compression={compression}");

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri($"/layers/large/tar?compression={compression}", UriKind.Relative));
        request.Headers.Range = new RangeHeaderValue(1000, whole.Length - 2);
        using var response = await http.SendAsync(request);

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal($"bytes 1000-{whole.Length - 2}/{whole.Length}", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(whole[1000..^1], await response.Content.ReadAsByteArrayAsync());
        await server.Logs.WaitForAsync(e => e.RenderMessage().Contains($"bytes 1000-{whole.Length - 2} sent from the kept body", StringComparison.Ordinal), "the range sent from the kept body");
    }

    [Theory]
    [InlineData("gzip", "-z")]
    [InlineData("zstd", "--zstd")]
    public async Task ADescriptorKeepsTheBodyItMadeAndTheDownloadAfterItIsThatBody(string compression, string tarOption)
    {
        await using var server = Start();
        using var http = server.CreateClient();

        // A sidecar asks for the digest and size first, then downloads: the body the descriptor was made from is kept.
        using var described = JsonDocument.Parse(await http.GetStringAsync(new Uri($"/layers/large/descriptor?compression={compression}", UriKind.Relative)));
        var digest = described.RootElement.GetProperty("digest").GetString()!;
        var kept = Path.Combine(Blobs, digest.Replace(':', '-'));
        Assert.Equal([kept], Directory.GetFileSystemEntries(Blobs));

        var body = await http.GetByteArrayAsync(new Uri($"/layers/large/tar?compression={compression}", UriKind.Relative));
        await server.Logs.WaitForAsync(e => e.RenderMessage().Contains($"bytes 0-{body.Length - 1} sent from the kept body", StringComparison.Ordinal), "the download sent from the kept body");
        Assert.Equal(digest, $"sha256:{Convert.ToHexStringLower(SHA256.HashData(body))}");
        Assert.Equal(described.RootElement.GetProperty("size").GetInt64(), body.Length);
        Assert.Equal(await File.ReadAllBytesAsync(kept), body);

        var archive = Path.Combine(_scratch, "described");
        await File.WriteAllBytesAsync(archive, body);
        Assert.Equal("large\n", await GnuTar.ReadMemberAsync(archive, "etc/motd", tarOption));
    }

    [Fact]
    public async Task ADescriptorOfAStateNotYetSettledKeepsNothing()
    {
        await using var server = Start(new Dictionary<string, string> { ["DigestCache:SettleTime"] = "01:00:00" });
        using var http = server.CreateClient();

        // Its descriptor is not kept, so nothing could find the body under it.
        using var unsettled = await http.GetAsync(new Uri("/layers/large/descriptor?compression=gzip", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, unsettled.StatusCode);
        Assert.Empty(Directory.GetFileSystemEntries(Blobs));
    }

    [Fact]
    public async Task ADescriptorOfThePlainTarKeepsNothing()
    {
        await using var server = Start();
        using var http = server.CreateClient();

        // The plain tar is made at a static file's speed: a copy of it would only cost disk.
        using var plain = await http.GetAsync(new Uri("/layers/large/descriptor", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, plain.StatusCode);
        Assert.Empty(Directory.GetFileSystemEntries(Blobs));
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task AResumeOfAStateNoDownloadCompletedIsSentFromTheBodyItsDescriptorKept(string compression)
    {
        await using var server = Start();
        using var http = server.CreateClient();
        var path = $"/layers/large/tar?compression={compression}";

        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri(path, UriKind.Relative));
        request.Headers.Range = new RangeHeaderValue(1000, null);
        using var response = await http.SendAsync(request);
        var slice = await response.Content.ReadAsByteArrayAsync();

        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        await server.Logs.WaitForAsync(e => e.RenderMessage().Contains(" sent from the kept body", StringComparison.Ordinal), "the range sent from the kept body");
        var kept = Assert.Single(Directory.GetFileSystemEntries(Blobs));
        var whole = await File.ReadAllBytesAsync(kept);
        Assert.Equal(whole[1000..], slice);
        Assert.Equal($"bytes 1000-{whole.Length - 1}/{whole.Length}", response.Content.Headers.ContentRange?.ToString());
        Assert.Equal(whole, await http.GetByteArrayAsync(new Uri(path, UriKind.Relative)));
    }

    [Fact]
    public async Task AChangedLayerIsNotAnsweredWithTheBodyKeptForItsOldState()
    {
        await using var server = Start();
        using var http = server.CreateClient();
        await KeepAsync(server, http, "large", "/layers/large/tar?compression=gzip");

        await File.WriteAllTextAsync(Path.Combine(_store.DiffPath("large"), "etc", "motd"), "changed\n");
        var after = await http.GetByteArrayAsync(new Uri("/layers/large/tar?compression=gzip", UriKind.Relative));

        var archive = Path.Combine(_scratch, "after");
        await File.WriteAllBytesAsync(archive, after);
        Assert.Equal("changed\n", await GnuTar.ReadMemberAsync(archive, "etc/motd", "-z"));
    }

    [Fact]
    public async Task ABodyLargerThanTheBoundIsSentWholeAndNotKept()
    {
        await using var server = Start(new Dictionary<string, string> { ["BlobCache:MaxBytes"] = (1 << 20).ToString(System.Globalization.CultureInfo.InvariantCulture) });
        using var http = server.CreateClient();
        _store.AddFile("large", "data/more.bin", RandomNumberGenerator.GetBytes(2 * LargeFileBytes));

        var body = await http.GetByteArrayAsync(new Uri("/layers/large/tar?compression=zstd", UriKind.Relative));
        using var again = await http.GetAsync(new Uri("/layers/large/tar?compression=zstd", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.True(body.Length > 1 << 20, $"the body is {body.Length} bytes, within the bound");
        Assert.Equal($"sha256:{Convert.ToHexStringLower(SHA256.HashData(body))}", again.Headers.GetValues("Docker-Content-Digest").Single());
        Assert.Equal(body, await again.Content.ReadAsByteArrayAsync());
        Assert.Empty(Directory.GetFileSystemEntries(Blobs));
    }

    [Fact]
    public async Task AClientThatHangsUpLeavesNoCopyBehind()
    {
        await using var server = Start(new Dictionary<string, string> { ["Export:Gzip:Level"] = "9" });
        _store.AddFile("large", "data/more.bin", RandomNumberGenerator.GetBytes(16 * LargeFileBytes));
        using var http = server.CreateClient();
        await http.GetByteArrayAsync(new Uri("/layers/large/tar?compression=gzip", UriKind.Relative));

        // The second download of the state copies its body as it goes.
        using (var response = await http.GetAsync(new Uri("/layers/large/tar?compression=gzip", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead))
        {
            await using var body = await response.Content.ReadAsStreamAsync();
            await body.ReadExactlyAsync(new byte[1024]);
        }

        // The copy is removed as the export unwinds, before its outcome is logged.
        var outcomes = await server.Logs.WaitForExportOutcomesAsync("large", 2);
        Assert.Contains(" cancelled", outcomes[1].MessageTemplate.Text, StringComparison.Ordinal);
        Assert.Empty(Directory.GetFileSystemEntries(Blobs));
    }

    [Fact]
    public async Task ADirectoryMadeUnsafeAfterTheStartIsNeitherReadNorWrittenAndDownloadsGoOn()
    {
        await using var server = Start();
        using var http = server.CreateClient();
        var (body, _) = await KeepAsync(server, http, "large", "/layers/large/tar?compression=gzip");
        var chmod = await ProcessRunner.RunAsync("chmod", ["777", Blobs]);
        Assert.True(chmod.ExitCode == 0, chmod.Describe());

        // An If-None-Match of another tag asks for the whole body on a fresh survey, as a kept body needs.
        using var request = new HttpRequestMessage(HttpMethod.Get, new Uri("/layers/large/tar?compression=gzip", UriKind.Relative));
        request.Headers.IfNoneMatch.Add(new EntityTagHeaderValue("\"sha256:other\""));
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(body, await response.Content.ReadAsByteArrayAsync());
        await server.Logs.WaitForExportOutcomesAsync("large", 3);

        Assert.DoesNotContain(server.Logs.Events, e => e.RenderMessage().Contains("sent from the kept body", StringComparison.Ordinal));
        var warning = await server.Logs.WaitForAsync(e => e.RenderMessage().StartsWith("A compressed body was not kept in BlobCache:Directory: ", StringComparison.Ordinal), "the copy refused");
        Assert.Contains($"'{Blobs}'", warning.RenderMessage(), StringComparison.Ordinal);
        Assert.Single(Directory.GetFileSystemEntries(Blobs));
    }

    // What a crash left is pruned when the server starts, not once a body is kept after it: a disk it filled would
    // refuse every copy, and so never have a body kept to prune it.
    [Fact]
    public async Task ACopyACrashedServerLeftIsRemovedAtTheStart()
    {
        Directory.CreateDirectory(Blobs);
        var abandoned = Path.Combine(Blobs, new string('d', 32) + ".tmp");
        await File.WriteAllBytesAsync(abandoned, [1, 2, 3]);
        File.SetLastWriteTimeUtc(abandoned, DateTime.UtcNow.AddDays(-2));

        await using var server = Start();

        Assert.True(SpinWait.SpinUntil(() => !File.Exists(abandoned), CapturedLogs.SafetyTimeout), "the copy a crash left is still there");
    }

    [Fact]
    public async Task ADirectoryOthersCanWriteIsRefusedAtStart()
    {
        var shared = Path.Combine(_scratch, "shared");
        Directory.CreateDirectory(shared);
        var chmod = await ProcessRunner.RunAsync("chmod", ["777", shared]);
        Assert.True(chmod.ExitCode == 0, chmod.Describe());

        var result = new BlobCacheDirectoryCheck().Validate(null, new BlobCacheOptions { Directory = shared });

        Assert.True(result.Failed, "a directory every user can write was accepted");
        Assert.StartsWith($"BlobCache:Directory is unsafe: '{shared}': '{shared}' belongs to uid ", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABoundUnderOneMebibyteStopsTheStart()
    {
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, ["BlobCache__Directory"] = Blobs, ["BlobCache__MaxBytes"] = "1000" },
            "--urls", "http://127.0.0.1:0");

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 1, $"exit code {exitCode}:{Environment.NewLine}{server.Output}");
        Assert.Contains("BlobCache:MaxBytes must be at least 1048576 (1 MiB).", server.Output, StringComparison.Ordinal);
    }

    // The check kept with a body's descriptor, damaged alone, fails the kept body's read: which of the two is wrong
    // cannot be told, so both go, and the next download makes the body and its descriptor again instead of holding a
    // new body to the damaged check (a second failure).
    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task ADamagedCheckOfAKeptBodyFailsOneDownloadAndTheNextIsTheBody(string compression)
    {
        var settings = new Dictionary<string, string> { ["DigestCache:Directory"] = Digests };
        var path = $"/layers/small/tar?compression={compression}";
        byte[] body;
        await using (var first = Start(settings))
        {
            using var http = first.CreateClient();
            (body, _) = await KeepAsync(first, http, "small", path);
        }

        var damaged = 0;
        foreach (var entry in Directory.GetFiles(Digests, "*.json"))
        {
            var text = await File.ReadAllTextAsync(entry);
            var changed = Regex.Replace(text, "\"BodyCheck\":\"[0-9a-f]{32}\"", "\"BodyCheck\":\"" + new string('0', 32) + "\"");
            damaged += changed == text ? 0 : 1;
            await File.WriteAllTextAsync(entry, changed);
        }

        Assert.Equal(1, damaged);
        await using var server = Start(settings);
        using var client = server.CreateClient();
        using var failed = await client.GetAsync(new Uri(path, UriKind.Relative));
        var problem = await ProblemAssert.IsProblemAsync(failed, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:layer-changing", problem.GetProperty("type").GetString());

        Assert.Equal(body, await client.GetByteArrayAsync(new Uri(path, UriKind.Relative)));
    }

    // An older server's descriptor kept no check of its body (decision 0021): the first read of the kept body is held
    // to its SHA-256, and the check it takes then is kept with the descriptor, so the next reads need no SHA-256.
    [Fact]
    public async Task AKeptBodyWhoseDescriptorHasNoCheckGivesItTheCheckItsReadTook()
    {
        var settings = new Dictionary<string, string> { ["DigestCache:Directory"] = Digests };
        const string path = "/layers/large/tar?compression=zstd";
        byte[] body;
        await using (var first = Start(settings))
        {
            using var http = first.CreateClient();
            (body, _) = await KeepAsync(first, http, "large", path);
        }

        string? check = null;
        var stripped = 0;
        foreach (var entry in Directory.GetFiles(Digests, "*.json"))
        {
            var text = await File.ReadAllTextAsync(entry);
            var changed = Regex.Replace(text, ",\"BodyCheck\":\"([0-9a-f]{32})\"", match =>
            {
                check = match.Groups[1].Value;
                return "";
            });
            stripped += changed == text ? 0 : 1;
            await File.WriteAllTextAsync(entry, changed);
        }

        Assert.Equal(1, stripped);
        await using var server = Start(settings);
        using var client = server.CreateClient();
        Assert.Equal(body, await client.GetByteArrayAsync(new Uri(path, UriKind.Relative)));
        await server.Logs.WaitForAsync(e => e.RenderMessage().Contains("sent from the kept body", StringComparison.Ordinal), "the body sent from the kept body");

        Assert.Contains(
            Directory.GetFiles(Digests, "*.json").Select(File.ReadAllText),
            text => text.Contains($"\"BodyCheck\":\"{check}\"", StringComparison.Ordinal));
    }

    // strace fails every read of the kept file with EIO, as a bad sector does. The read is the body not read back: the
    // transfer fails for a retry and the file is removed, and the retry makes the body from the layer, not another 500.
    [Fact]
    public async Task AKeptBodyTheDiskCannotReadFailsOneDownloadAndTheNextIsMadeFromTheLayer()
    {
        var settings = new Dictionary<string, string> { ["DigestCache:Directory"] = Digests };
        const string path = "/layers/small/tar?compression=gzip";
        byte[] body;
        string kept;
        await using (var first = Start(settings))
        {
            using var http = first.CreateClient();
            (body, kept) = await KeepAsync(first, http, "small", path);
        }

        await using var tracer = ServerProcess.StartUnder(
            ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=pread64", "-e", "inject=pread64:error=EIO", "-P", kept, "-o", "/dev/null", "--"],
            AppContext.BaseDirectory,
            new Dictionary<string, string>
            {
                ["LayerStore__Root"] = _store.Root,
                ["DigestCache__Directory"] = Digests,
                ["BlobCache__Directory"] = Blobs,
            },
            "--urls",
            "http://127.0.0.1:0");
        using var client = new HttpClient { BaseAddress = await tracer.WaitUntilListeningAsync() };
        using var server = tracer.WrappedServer();
        try
        {
            using var failed = await client.GetAsync(new Uri(path, UriKind.Relative));
            var problem = await ProblemAssert.IsProblemAsync(failed, HttpStatusCode.ServiceUnavailable);
            Assert.Equal("urn:layer-export:problem:layer-changing", problem.GetProperty("type").GetString());
            Assert.Matches("cannot be read at 0 bytes: .*Input/output error", problem.GetProperty("detail").GetString());
            Assert.False(File.Exists(kept), "the unreadable body is still kept");

            Assert.Equal(body, await client.GetByteArrayAsync(new Uri(path, UriKind.Relative)));
        }
        finally
        {
            server.Kill();
        }
    }

    // The layer's first two downloads: the first learns the digest, the second keeps the body once all of it left
    // (its export ends after the client has the last byte). Returns the body and the kept file.
    private async Task<(byte[] Body, string Kept)> KeepAsync(ApiServer server, HttpClient http, string layerId, string path)
    {
        await http.GetByteArrayAsync(new Uri(path, UriKind.Relative));
        var body = await http.GetByteArrayAsync(new Uri(path, UriKind.Relative));
        await server.Logs.WaitForExportOutcomesAsync(layerId, 2);
        var kept = Path.Combine(Blobs, $"sha256-{Convert.ToHexStringLower(SHA256.HashData(body))}");
        Assert.Equal([kept], Directory.GetFileSystemEntries(Blobs));
        return (body, kept);
    }

    private ApiServer Start(Dictionary<string, string>? settings = null)
    {
        var all = new Dictionary<string, string>(settings ?? []) { ["BlobCache:Directory"] = Blobs };
        return ApiServer.Start(_store.Root, settings: all);
    }
}
