using System.Buffers.Binary;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using IntegrationTests.Support;
using LayerExport.Core.Compression;
using LayerExport.Core.Tests.Support;

namespace IntegrationTests;

/// <summary>A cached descriptor the layer does not make costs one failed download, never every download after it.</summary>
public sealed class DigestCacheRecoveryTests : IDisposable
{
    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("base")
        .AddFile("base", "etc/hostname", "base\n"u8.ToArray());

    private readonly string _digests = Directory.CreateTempSubdirectory("digest-recovery-").FullName;
    private readonly string _downloads = Directory.CreateTempSubdirectory("digest-recovery-downloads-").FullName;
    private readonly string _dockerRoot = Directory.CreateTempSubdirectory("digest-recovery-docker-").FullName;

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_digests, recursive: true);
        Directory.Delete(_downloads, recursive: true);
        Directory.Delete(_dockerRoot, recursive: true);
    }

    [Fact]
    public async Task AWrongCachedDigestFailsOneDownloadAndIsThenReplacedByTheTrueOne()
    {
        var settings = new Dictionary<string, string> { ["DigestCache:Directory"] = _digests };
        var url = new Uri("/layers/base/tar", UriKind.Relative);
        var (tar, _) = await RecordAsync(settings, url);

        // Well-formed and wrong, as a damaged entry, or a file written through mmap without moving its ctime, leaves it.
        await DamageEntriesAsync(text => Regex.Replace(text, "sha256:[0-9a-f]{64}", "sha256:" + new string('0', 64)));

        await using var server = ApiServer.Start(_store.Root, settings: settings);
        using var http = server.CreateClient();
        var body = await FailsOnceThenDownloadsAsync(http, url);
        using var descriptor = await http.GetAsync(new Uri("/layers/base/descriptor", UriKind.Relative));

        Assert.Equal(tar, body);
        Assert.Contains("sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar)), await descriptor.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    // A plain download of a known layer state is held to the check kept with its diffID, not to its SHA-256: a check
    // damaged alone fails that download as a damaged diffID did, and the next one keeps the true check.
    [Fact]
    public async Task AWrongKeptTarCheckFailsOnePlainDownloadAndIsThenReplacedByTheTrueOne()
    {
        var settings = new Dictionary<string, string> { ["DigestCache:Directory"] = _digests };
        var url = new Uri("/layers/base/tar", UriKind.Relative);
        var (tar, _) = await RecordAsync(settings, url);
        string? trueCheck = null;
        Assert.Equal(1, await DamageEntriesAsync(text => Regex.Replace(text, "\"TarCheck\":\"([0-9a-f]{32})\"", match =>
        {
            trueCheck = match.Groups[1].Value;
            return "\"TarCheck\":\"" + new string('0', 32) + "\"";
        })));

        await using var server = ApiServer.Start(_store.Root, settings: settings);
        using var http = server.CreateClient();
        var body = await FailsOnceThenDownloadsAsync(http, url);
        await server.Logs.WaitForExportOutcomesAsync("base", 2);

        Assert.Equal(tar, body);
        Assert.Contains($"\"TarCheck\":\"{trueCheck}\"", await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(_digests, "*.json"))), StringComparison.Ordinal);
    }

    // A compressed download of a known layer state is held to the check kept with its body's digest, not to its SHA-256:
    // a check damaged alone fails that download as a damaged digest does, and the next one keeps the true check.
    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task AWrongKeptBodyCheckFailsOneCompressedDownloadAndIsThenReplacedByTheTrueOne(string compression)
    {
        var settings = new Dictionary<string, string> { ["DigestCache:Directory"] = _digests };
        var url = new Uri($"/layers/base/tar?compression={compression}", UriKind.Relative);
        var (body, _) = await RecordAsync(settings, url);
        string? trueCheck = null;
        Assert.Equal(1, await DamageEntriesAsync(text => Regex.Replace(text, "\"BodyCheck\":\"([0-9a-f]{32})\"", match =>
        {
            trueCheck = match.Groups[1].Value;
            return "\"BodyCheck\":\"" + new string('0', 32) + "\"";
        })));

        // The body leaves as it is made, all but its last byte: the check before that byte cuts the transfer.
        await using var server = ApiServer.Start(_store.Root, settings: settings);
        using var http = server.CreateClient();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetByteArrayAsync(url));
        await server.Logs.WaitForExportOutcomeAsync("base", "failed");
        var next = await http.GetByteArrayAsync(url);
        await server.Logs.WaitForExportOutcomesAsync("base", 2);

        Assert.Equal(body, next);
        Assert.Contains(
            Directory.GetFiles(_digests, "*.json").Select(File.ReadAllText),
            text => text.Contains($"\"BodyCheck\":\"{trueCheck}\"", StringComparison.Ordinal));
    }

    // A reassembled tar is held to the check kept with the store's diffID too, once an export has seen the tar have it:
    // a damaged check fails one download, is forgotten (it is not the store's fault), and the next one keeps the true check.
    [Fact]
    public async Task AWrongKeptCheckOfAReassembledTarFailsOnePlainDownloadAndIsThenReplacedByTheTrueOne()
    {
        var (chain, settings, url, tar) = await RecordDockerLayerAsync(query: "");
        string? trueCheck = null;
        Assert.Equal(1, await DamageEntriesAsync(text => Regex.Replace(text, "\"TarCheck\":\"([0-9a-f]{32})\"", match =>
        {
            trueCheck = match.Groups[1].Value;
            return "\"TarCheck\":\"" + new string('0', 32) + "\"";
        })));

        // The tar is larger than a flush: its body has started when the check fails, so the download is aborted.
        await using var server = ApiServer.Start(_dockerRoot, settings: settings);
        using var http = server.CreateClient();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetByteArrayAsync(url));
        var body = await http.GetByteArrayAsync(url);
        await server.Logs.WaitForExportOutcomesAsync(chain, 2);

        Assert.Equal(tar, body);
        Assert.Contains($"\"TarCheck\":\"{trueCheck}\"", await File.ReadAllTextAsync(Assert.Single(Directory.GetFiles(_digests, "*.json"))), StringComparison.Ordinal);
    }

    // A compressed body's kept DiffId, damaged alone, is announced against the store's diffID: the reassembled tar,
    // hashed since the two disagree, is the store's and cannot have it. That is the kept descriptor's fault, not a
    // store whose files do not rebuild its diffID: one download fails and forgets it, the next has the body.
    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task AWrongKeptDiffIdOfAReassembledTarsBodyFailsOneDownloadNotEveryOneAsTheStores(string compression)
    {
        var (chain, settings, url, body) = await RecordDockerLayerAsync($"?compression={compression}");
        var changed = await DamageEntriesAsync(text =>
        {
            var json = JsonNode.Parse(text)!.AsObject();
            if (!json["MediaType"]!.GetValue<string>().EndsWith("+" + compression, StringComparison.Ordinal))
            {
                return text;
            }

            json["DiffId"] = "sha256:" + new string('0', 64);
            return json.ToJsonString();
        });

        await using var server = ApiServer.Start(_dockerRoot, settings: settings);
        using var http = server.CreateClient();
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetByteArrayAsync(url));
        await server.Logs.WaitForExportOutcomeAsync(chain, "failed");
        using var next = await http.GetAsync(url);

        Assert.Equal(1, changed);
        Assert.Equal(HttpStatusCode.OK, next.StatusCode);
        Assert.Equal(body, await next.Content.ReadAsByteArrayAsync());
    }

    // A plain download announces the entry's Digest and Size but holds its tar to the DiffId, its check and the survey's
    // length: an entry damaged in the Digest alone gave HEAD, the descriptor and a complete download that digest; one
    // damaged in the Size alone gave HEAD and the descriptor that size, and a download a Content-Length no body fills.
    // Either is a miss now.
    [Theory]
    [InlineData("Digest")]
    [InlineData("Size")]
    public async Task APlainEntryWhoseDigestOrSizeAloneIsDamagedIsNeverAnnounced(string damaged)
    {
        var settings = new Dictionary<string, string> { ["DigestCache:Directory"] = _digests };
        var url = new Uri("/layers/base/tar", UriKind.Relative);
        var (tar, _) = await RecordAsync(settings, url);
        var trueDigest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar));
        Assert.Equal(1, await DamageEntriesAsync(text =>
        {
            var json = JsonNode.Parse(text)!.AsObject();
            json[damaged] = damaged == "Size" ? json["Size"]!.GetValue<long>() + 512 : "sha256:" + new string('0', 64);
            return json.ToJsonString();
        }));

        await using var server = ApiServer.Start(_store.Root, settings: settings);
        using var http = server.CreateClient();
        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));
        using var whole = await http.GetAsync(url);
        var body = await whole.Content.ReadAsByteArrayAsync();
        using var descriptor = await http.GetAsync(new Uri("/layers/base/descriptor", UriKind.Relative));

        Assert.Equal(tar.Length, head.Content.Headers.ContentLength);
        Assert.DoesNotContain(head.Headers.TryGetValues("Docker-Content-Digest", out var announced) ? announced : [], digest => digest != trueDigest);
        Assert.Equal(HttpStatusCode.OK, whole.StatusCode);
        Assert.Equal(tar, body);
        Assert.DoesNotContain(whole.Headers.TryGetValues("Docker-Content-Digest", out var sent) ? sent : [], digest => digest != trueDigest);
        var described = JsonNode.Parse(await descriptor.Content.ReadAsStringAsync())!;
        Assert.Equal(trueDigest, described["digest"]!.GetValue<string>());
        Assert.Equal(tar.Length, described["size"]!.GetValue<long>());
    }

    [Fact]
    public async Task AReadErrorInADownloadKeepsTheCachedDigest()
    {
        var settings = new Dictionary<string, string> { ["DigestCache:Directory"] = _digests };
        var url = new Uri("/layers/base/tar", UriKind.Relative);
        var (tar, _) = await RecordAsync(settings, url);

        // A disk error says nothing against the descriptor: only a tar unlike it may make the server forget it.
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(inner => new FailingLayerStore(inner, "etc/hostname")), settings: settings);
        using var http = server.CreateClient();
        using var failed = await http.GetAsync(url);
        await ProblemAssert.IsProblemAsync(failed, HttpStatusCode.InternalServerError);
        using var head = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));

        Assert.Equal("sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar)), Assert.Single(head.Headers.GetValues("Docker-Content-Digest")));
    }

    // Values no export writes would reach a header or a gzip resume as they are: each is a miss, recomputed at once.
    [Theory]
    [InlineData("none", "\"Size\":\\d+", "\"Size\":-1")]
    [InlineData("none", "\"Digest\":\"[^\"]+\"", "\"Digest\":\"sha256:\\\"\"")]
    [InlineData("none", "\"DiffId\":\"[^\"]+\"", "\"DiffId\":\"md5:0\"")]
    [InlineData("gzip", "\"MediaType\":\"[^\"]+\"", "\"MediaType\":\"text/html\"")]
    [InlineData("gzip", "\"MediaType\":\"[^\"]+\"", "\"MediaType\":\"application/vnd.oci.image.layer.v1.tar\"")]
    [InlineData("gzip", "\"BlockSize\":\\d+", "\"BlockSize\":512")]
    [InlineData("gzip", "\"CompressedLengths\":\\[[^\\]]*\\]", "\"CompressedLengths\":null")]
    public async Task AnEntryHoldingWhatNoExportWritesIsRecomputedAtOnce(string compression, string pattern, string replacement)
    {
        var settings = new Dictionary<string, string> { ["DigestCache:Directory"] = _digests };
        var url = new Uri($"/layers/base/tar?compression={compression}", UriKind.Relative);
        var descriptorUrl = new Uri($"/layers/base/descriptor?compression={compression}", UriKind.Relative);
        var (body, descriptor) = await RecordAsync(settings, url, descriptorUrl);
        var changed = await DamageEntriesAsync(text => Regex.Replace(text, pattern, replacement));

        await using var server = ApiServer.Start(_store.Root, settings: settings);
        using var http = server.CreateClient();
        var resumed = await ResumeAsync(http, url);

        Assert.True(changed > 0, $"no entry matched {pattern}");
        Assert.Equal(body[1..], resumed);
        Assert.Equal(descriptor, await http.GetStringAsync(descriptorUrl));
    }

    // A resume is a range: one that finds its descriptor wrong must not leave it to fail every resume after it. A
    // wrong gzip block length shows at the first block, before a batch of the range has left: that is answered.
    [Theory]
    [InlineData("zstd", "Digest", false)]
    [InlineData("zstd", "DiffId", false)]
    [InlineData("gzip", "CompressedLengths", true)]
    public async Task AWrongCachedDescriptorFailsOneResumeAndTheNextResumeSucceeds(string compression, string damaged, bool foundBeforeTheBody)
    {
        // Several gzip blocks, so lengths can be wrong and still add up to the size.
        _store.AddPatternFile("base", "data/blob.bin", 200 * 1024);
        var settings = new Dictionary<string, string> { ["DigestCache:Directory"] = _digests, ["Export:Gzip:BlockSize"] = "65536" };
        var url = new Uri($"/layers/base/tar?compression={compression}", UriKind.Relative);
        var (body, _) = await RecordAsync(settings, url);
        var changed = await DamageEntriesAsync(text =>
        {
            var json = JsonNode.Parse(text)!.AsObject();
            if (!json["MediaType"]!.GetValue<string>().EndsWith(compression == "gzip" ? "+gzip" : "+zstd", StringComparison.Ordinal))
            {
                return text;
            }

            if (damaged == "CompressedLengths")
            {
                var lengths = json["GzipIndex"]!["CompressedLengths"]!.AsArray();
                Assert.True(lengths.Count > 1);
                lengths[0] = lengths[0]!.GetValue<int>() + 1;
                lengths[^1] = lengths[^1]!.GetValue<int>() - 1;
                Reseal(json["GzipIndex"]!);
            }
            else
            {
                json[damaged] = "sha256:" + new string('0', 64);
            }

            return json.ToJsonString();
        });

        await using var server = ApiServer.Start(_store.Root, settings: settings);
        using var http = server.CreateClient();
        if (foundBeforeTheBody)
        {
            using var failed = await RangeAsync(http, url, 1);
            await ProblemAssert.IsProblemAsync(failed, HttpStatusCode.ServiceUnavailable);
        }
        else
        {
            await Assert.ThrowsAnyAsync<HttpRequestException>(() => ResumeAsync(http, url));
        }

        // The operator sees the broken resume as failed, not as a range completed.
        await server.Logs.WaitForExportOutcomeAsync("base", "failed");
        var resumed = await ResumeAsync(http, url);

        Assert.Equal(1, changed);
        Assert.Equal(body[1..], resumed);
    }

    // A resume within the last gzip block finds the damage before any byte of the body is sent: that is still answered.
    [Fact]
    public async Task AWrongCachedGzipIndexFoundBeforeTheBodyIsAProblemAndTheNextResumeSucceeds()
    {
        var (settings, url, body, changed) = await RecordGzipBlocksAndDamageTheirIndexAsync(index =>
        {
            var lengths = index["CompressedLengths"]!.AsArray();
            lengths[0] = lengths[0]!.GetValue<int>() + 1;
            lengths[^1] = lengths[^1]!.GetValue<int>() - 1;
        });

        await using var server = ApiServer.Start(_store.Root, settings: settings);
        using var http = server.CreateClient();
        using (var failed = await RangeAsync(http, url, body.Length - 9))
        {
            await ProblemAssert.IsProblemAsync(failed, HttpStatusCode.ServiceUnavailable);
        }

        using var resumed = await RangeAsync(http, url, body.Length - 9);

        Assert.Equal(1, changed);
        Assert.Equal(HttpStatusCode.PartialContent, resumed.StatusCode);
        Assert.Equal(body[^9..], await resumed.Content.ReadAsByteArrayAsync());
    }

    // An index whose tar length is not the surveyed tar's, though its block count and sizes agree, is not used for a range.
    [Theory]
    [InlineData(1)]
    [InlineData(-1)]
    public async Task AGzipIndexOfAnotherTarLengthIsNotUsedForARange(int error)
    {
        var (settings, url, body, changed) = await RecordGzipBlocksAndDamageTheirIndexAsync(index => index["TarLength"] = index["TarLength"]!.GetValue<long>() + error);

        await using var server = ApiServer.Start(_store.Root, settings: settings);
        using var http = server.CreateClient();
        using var resumed = await RangeAsync(http, url, body.Length - 9);

        Assert.Equal(1, changed);
        Assert.Equal(HttpStatusCode.PartialContent, resumed.StatusCode);
        Assert.Equal(body[^9..], await resumed.Content.ReadAsByteArrayAsync());
    }

    // The trailer's CRC-32 is sent as kept, never computed by a resume: an index damaged there alone, its lengths
    // and tar length all true, must not end a range that looks complete with wrong last bytes. Resumed in the
    // trailer, in the last block, and from the first block (negative: from the end).
    [Theory]
    [InlineData(-8)]
    [InlineData(-9)]
    [InlineData(1)]
    public async Task AGzipIndexWithAWrongCrcAloneIsNotUsedForARangeAndIsReplaced(int from)
    {
        var (settings, url, body, changed) = await RecordGzipBlocksAndDamageTheirIndexAsync(index => index["Crc32"] = index["Crc32"]!.GetValue<uint>() ^ 1, reseal: false);

        await using var server = ApiServer.Start(_store.Root, settings: settings);
        using var http = server.CreateClient();
        var start = from < 0 ? body.Length + from : from;
        using var resumed = await RangeAsync(http, url, start);
        var reassembled = body[..start].Concat(await resumed.Content.ReadAsByteArrayAsync()).ToArray();
        var file = Path.Combine(_downloads, "base.tar.gz");
        await File.WriteAllBytesAsync(file, reassembled);
        var gzip = await ProcessRunner.RunAsync("gzip", ["-t", file]);
        var kept = await KeptGzipIndexesAsync();

        Assert.Equal(1, changed);
        Assert.Equal(HttpStatusCode.PartialContent, resumed.StatusCode);
        Assert.True(gzip.ExitCode == 0, gzip.Describe());
        Assert.Equal(body, reassembled);
        Assert.Equal(BinaryPrimitives.ReadUInt32LittleEndian(body.AsSpan(body.Length - 8)), Assert.Single(kept)["Crc32"]!.GetValue<uint>());
    }

    // An older server kept indexes without a checksum: such an index is not used for a range (the body is made whole
    // and cut), and the next complete download keeps a checked one.
    [Fact]
    public async Task AGzipIndexKeptWithoutAChecksumIsNotUsedForARangeAndTheNextDownloadKeepsOne()
    {
        var (settings, url, body, changed) = await RecordGzipBlocksAndDamageTheirIndexAsync(
            index =>
            {
                index["Crc32"] = index["Crc32"]!.GetValue<uint>() ^ 1;
                index.AsObject().Remove("Checksum");
            },
            reseal: false);

        await using var server = ApiServer.Start(_store.Root, settings: settings);
        using var http = server.CreateClient();
        using var resumed = await RangeAsync(http, url, body.Length - 9);
        var range = await resumed.Content.ReadAsByteArrayAsync();
        var whole = await http.GetByteArrayAsync(url);

        // The client may hold the last byte before the server has kept what the download made; it logs after that.
        await server.Logs.WaitForExportOutcomesAsync("base", 2);
        var kept = await KeptGzipIndexesAsync();

        Assert.Equal(1, changed);
        Assert.Equal(HttpStatusCode.PartialContent, resumed.StatusCode);
        Assert.Equal(body[^9..], range);
        Assert.Equal(body, whole);
        Assert.NotNull(Assert.Single(kept)["Checksum"]);
    }

    // Its tar is the one announced, its size too: only the body's digest tells the kept descriptor wrong.
    [Theory]
    [InlineData("gzip")]
    [InlineData("zstd")]
    public async Task AWrongCachedBodyDigestFailsOneWholeDownloadBeforeItsLastByteAndTheNextHasTheTrueOne(string compression)
    {
        var settings = new Dictionary<string, string> { ["DigestCache:Directory"] = _digests };
        var url = new Uri($"/layers/base/tar?compression={compression}", UriKind.Relative);
        var (body, _) = await RecordAsync(settings, url);
        var wrong = "sha256:" + new string('0', 64);
        var changed = await DamageEntriesAsync(text =>
        {
            var json = JsonNode.Parse(text)!.AsObject();
            if (!json["MediaType"]!.GetValue<string>().EndsWith("+" + compression, StringComparison.Ordinal))
            {
                return text;
            }

            json["Digest"] = wrong;
            return json.ToJsonString();
        });

        Assert.Equal(1, changed);
        await using var server = ApiServer.Start(_store.Root, settings: settings);
        using var http = server.CreateClient();
        using (var announced = await http.SendAsync(new HttpRequestMessage(HttpMethod.Head, url)))
        {
            Assert.Equal(wrong, announced.Headers.GetValues("Docker-Content-Digest").Single());
        }

        await Assert.ThrowsAnyAsync<HttpRequestException>(() => http.GetByteArrayAsync(url));
        await server.Logs.WaitForExportOutcomeAsync("base", "failed");
        var next = await http.GetByteArrayAsync(url);
        var descriptor = await http.GetStringAsync(new Uri($"/layers/base/descriptor?compression={compression}", UriKind.Relative));

        Assert.Equal(body, next);
        Assert.Contains("sha256:" + Convert.ToHexStringLower(SHA256.HashData(body)), descriptor, StringComparison.Ordinal);
    }

    // One server exports and records its descriptors, then stops; the next server reads them from the directory.
    // A small body whose kept descriptor the layer does not make: its first download is a 503 before any byte, the
    // next one the whole body.
    private static async Task<byte[]> FailsOnceThenDownloadsAsync(HttpClient http, Uri url)
    {
        using (var failed = await http.GetAsync(url))
        {
            await ProblemAssert.IsProblemAsync(failed, HttpStatusCode.ServiceUnavailable);
        }

        using var retried = await http.GetAsync(url);
        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        return await retried.Content.ReadAsByteArrayAsync();
    }

    // A Docker data-root of one layer, downloaded once (plain tar, or the query's representation) by a server that kept
    // what it made in the digest cache; the first download's body is returned.
    private async Task<(string Chain, Dictionary<string, string> Settings, Uri Url, byte[] Body)> RecordDockerLayerAsync(string query)
    {
        var (chain, _) = await DockerDataRoot.AddLayerAsync(_dockerRoot, "layer", parent: null, "--format=gnu");
        var settings = new Dictionary<string, string> { ["DigestCache:Directory"] = _digests, ["LayerStore:Layout"] = "docker" };
        var url = new Uri($"/layers/{chain}/tar{query}", UriKind.Relative);
        await using var first = ApiServer.Start(_dockerRoot, settings: settings);
        using var client = first.CreateClient();
        return (chain, settings, url, await client.GetByteArrayAsync(url));
    }

    private async Task<(byte[] Body, string? Descriptor)> RecordAsync(Dictionary<string, string> settings, Uri url, Uri? descriptorUrl = null)
    {
        await using var first = ApiServer.Start(_store.Root, settings: settings);
        using var client = first.CreateClient();
        var body = await client.GetByteArrayAsync(url);
        return (body, descriptorUrl is null ? null : await client.GetStringAsync(descriptorUrl));
    }

    // A gzip body of several 64 KiB blocks, recorded, then its kept block index damaged and, unless told not to, its
    // checksum made again: wrong only where the checksum cannot tell, as an index kept for a tar the layer no longer makes.
    private async Task<(Dictionary<string, string> Settings, Uri Url, byte[] Body, int Changed)> RecordGzipBlocksAndDamageTheirIndexAsync(Action<JsonNode> damage, bool reseal = true)
    {
        _store.AddPatternFile("base", "data/blob.bin", 200 * 1024);
        var settings = new Dictionary<string, string> { ["DigestCache:Directory"] = _digests, ["Export:Gzip:BlockSize"] = "65536" };
        var url = new Uri("/layers/base/tar?compression=gzip", UriKind.Relative);
        var (body, _) = await RecordAsync(settings, url);
        var changed = await DamageEntriesAsync(text =>
        {
            var json = JsonNode.Parse(text)!.AsObject();
            if (json["GzipIndex"] is not { } index)
            {
                return text;
            }

            damage(index);
            if (reseal)
            {
                Reseal(index);
            }

            return json.ToJsonString();
        });
        return (settings, url, body, changed);
    }

    // The checksum an export keeps with an index of these values.
    private static void Reseal(JsonNode index) =>
        index["Checksum"] = new GzipBlockIndex(
            index["BlockSize"]!.GetValue<int>(),
            [.. index["CompressedLengths"]!.AsArray().Select(length => length!.GetValue<int>())],
            index["Crc32"]!.GetValue<uint>(),
            index["TarLength"]!.GetValue<long>()).Checksum();

    private async Task<IEnumerable<JsonNode>> KeptGzipIndexesAsync() =>
        (await Task.WhenAll(Directory.GetFiles(_digests, "*.json").Select(entry => File.ReadAllTextAsync(entry))))
            .Select(text => JsonNode.Parse(text)!["GzipIndex"]).OfType<JsonNode>();

    // Rewrites every entry file through damage; returns how many it changed.
    private async Task<int> DamageEntriesAsync(Func<string, string> damage)
    {
        var changed = 0;
        foreach (var entry in Directory.GetFiles(_digests, "*.json"))
        {
            var text = await File.ReadAllTextAsync(entry);
            var damaged = damage(text);
            changed += damaged == text ? 0 : 1;
            await File.WriteAllTextAsync(entry, damaged);
        }

        return changed;
    }

    private static async Task<HttpResponseMessage> RangeAsync(HttpClient http, Uri url, long start)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(start, null);
        return await http.SendAsync(request);
    }

    private static async Task<byte[]> ResumeAsync(HttpClient http, Uri url)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(1, null);
        using var response = await http.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }
}
