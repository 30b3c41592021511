using System.Globalization;
using System.IO.Compression;
using System.Net;
using System.Security.Cryptography;
using System.Text.Json.Nodes;
using IntegrationTests.Support;
using LayerExport.Core.Tests.Support;

namespace IntegrationTests;

/// <summary>The API over a real containers/storage root (made by Buildah), and the layout setting's validation.</summary>
public sealed class LayoutTests : IAsyncLifetime
{
    private BuildahStore? _buildah;
    private ApiServer? _server;

    private BuildahStore Buildah => _buildah ?? throw new InvalidOperationException("not built");

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        _buildah = await BuildahStore.CreateAsync();
        _server = ApiServer.Start(_buildah.Root, settings: new Dictionary<string, string> { ["LayerStore:Layout"] = "containers-storage" });
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _buildah?.Dispose();
    }

    [Fact]
    public async Task TheRecordedDiffDigestIsAnnouncedUpFrontAndIsTheDigestOfTheBody()
    {
        var (id, parent, diffDigest) = Buildah.CommittedLayers.Single(static l => l.Parent is not null);
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri($"/layers/{id}/tar?parent={parent}", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(diffDigest, Assert.Single(response.Headers.GetValues("Docker-Content-Digest")));
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(diffDigest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body)));
        Assert.Equal(body.LongLength, response.Content.Headers.ContentLength);
    }

    [Fact]
    public async Task TheCompletionLineOfARecordedLayerCountsTheTarsMembersNotTheRecordsLines()
    {
        var (id, _, _) = Buildah.CommittedLayers.Single(static l => l.Parent is not null);
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri($"/layers/{id}/tar", UriKind.Relative));
        var archive = Path.Combine(Path.GetDirectoryName(Buildah.Root)!, "body.tar");
        await File.WriteAllBytesAsync(archive, await response.Content.ReadAsByteArrayAsync());
        var completed = await Server.Logs.WaitForExportOutcomeAsync(id, "completed");

        // A record holds a header segment besides each member's file entry: counting its lines about doubles the figure.
        var members = await GnuTar.ListNamesAsync(archive);
        Assert.Equal(members.Count.ToString(CultureInfo.InvariantCulture), CapturedLogs.Property(completed, "Entries"));
    }

    [Fact]
    public async Task AParentThatIsNotTheRecordedOneIsAConflictNamingTheRecordedChain()
    {
        var (id, parent, _) = Buildah.CommittedLayers.Single(static l => l.Parent is not null);
        using var client = Server.CreateClient();

        using var wrong = await client.GetAsync(new Uri($"/layers/{id}/tar?parent={id}", UriKind.Relative));
        using var tooLong = await client.GetAsync(new Uri($"/layers/{id}/tar?parent={parent}&parent={parent}", UriKind.Relative));

        foreach (var response in new[] { wrong, tooLong })
        {
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
            Assert.Equal([parent], problem.GetProperty("recordedChain").EnumerateArray().Select(static e => e.GetString()));
        }
    }

    [Fact]
    public async Task ARecordShortOfItsLastLinesIsRefusedBeforeAnyByteWhenNoDiffDigestIsRecorded()
    {
        var (id, _, _) = Buildah.CommittedLayers.Single(static l => l.Parent is null);
        await EditLayerAsync(id, static layer => layer.Remove("diff-digest"));
        var record = Path.Combine(Buildah.Root, "vfs-layers", id + ".tar-split.gz");
        string[] lines;
        using (var reader = new StreamReader(new GZipStream(File.OpenRead(record), CompressionMode.Decompress)))
        {
            lines = (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries);
        }

        await using (var writer = new StreamWriter(new GZipStream(File.Create(record), CompressionLevel.Fastest)))
        {
            await writer.WriteAsync(string.Concat(lines[..^2].Select(static l => l + "\n")));
        }

        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri($"/layers/{id}/tar", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:store-inconsistent", problem.GetProperty("type").GetString());
        Assert.Contains("cut short", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("gzip")]
    [InlineData("none")]
    public async Task ARecordedChecksumThatNoFileHasIsAnInconsistencyNamingTheFileNotALayerChanging(string compression)
    {
        var (id, _, _) = Buildah.CommittedLayers.Single(static l => l.Parent is null);
        await EditLayerAsync(id, static layer => layer.Remove("diff-digest"));
        JsonObject file = null!;
        await EditRecordAsync(id, entries =>
        {
            file = entries.First(static e => (int)e["type"]! == 1 && (long?)e["size"] > 0);
            file["payload"] = Convert.ToBase64String(new byte[8]);
        });
        using var client = Server.CreateClient();

        // A client that retries gets the same answer: nothing is changing.
        for (var attempt = 0; attempt < 2; attempt++)
        {
            using var response = await client.GetAsync(new Uri($"/layers/{id}/descriptor?compression={compression}", UriKind.Relative));

            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
            Assert.Equal("urn:layer-export:problem:store-inconsistent", problem.GetProperty("type").GetString());
            Assert.Contains(((string)file["name"]!).TrimStart('.', '/'), problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task ADiffDigestWithALineBreakIsInconsistentNotAHeader()
    {
        var (id, _, diffDigest) = Buildah.CommittedLayers.Single(static l => l.Parent is null);
        await EditLayerAsync(id, layer => layer["diff-digest"] = diffDigest + "\r\nX-Injected: yes");
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri($"/layers/{id}/tar", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:store-inconsistent", problem.GetProperty("type").GetString());
        Assert.False(response.Headers.Contains("X-Injected"));
    }

    [Fact]
    public async Task AnUnknownLayoutStopsStartUpWithExitCode1AndListsTheLayouts()
    {
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = Buildah.Root, ["LayerStore__Layout"] = "podman" },
            "--urls", "http://127.0.0.1:0");

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 1, $"exit code {exitCode}:{Environment.NewLine}{server.Output}");
        var fatal = Assert.Single(server.Output.Split('\n'), static line => line.Contains("LayerExport cannot start: ", StringComparison.Ordinal));
        Assert.Contains("LayerStore:Layout must be one of native, overlay2, docker, containers-storage, snapshots, windows.", fatal, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening on", server.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("docker", "image/overlay2/layerdb/sha256")]
    [InlineData("containers-storage", "neither overlay-layers/ nor vfs-layers/")]
    public async Task ARootThatIsNotAStoreOfTheLayoutStopsStartUpWithExitCode1(string layout, string reason)
    {
        var empty = Directory.CreateTempSubdirectory("not-a-store-");
        try
        {
            await using var server = ServerProcess.Start(
                AppContext.BaseDirectory,
                new Dictionary<string, string> { ["LayerStore__Root"] = empty.FullName, ["LayerStore__Layout"] = layout },
                "--urls", "http://127.0.0.1:0");

            var exitCode = await server.WaitForExitAsync();

            Assert.True(exitCode == 1, $"exit code {exitCode}:{Environment.NewLine}{server.Output}");
            var fatal = Assert.Single(server.Output.Split('\n'), static line => line.Contains("LayerExport cannot start: ", StringComparison.Ordinal));
            Assert.Contains("not a store of the configured LayerStore:Layout", fatal, StringComparison.Ordinal);
            Assert.Contains(reason, fatal, StringComparison.Ordinal);
            Assert.DoesNotContain("Now listening on", server.Output, StringComparison.Ordinal);
        }
        finally
        {
            empty.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task AWholeDownloadAfterTheDiffDigestChangedChecksTheNewOneNotTheLastSurveys()
    {
        var (id, parent, diffDigest) = Buildah.CommittedLayers.Single(static l => l.Parent is not null);
        var url = new Uri($"/layers/{id}/tar?parent={parent}", UriKind.Relative);
        using var client = Server.CreateClient();
        var body = await client.GetByteArrayAsync(url);

        // The tar no longer has the digest layers.json records: every download fails, none under the old digest.
        await EditLayerAsync(id, layer => layer["diff-digest"] = "sha256:" + new string('0', 64));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetByteArrayAsync(url));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => client.GetByteArrayAsync(url));
        await EditLayerAsync(id, layer => layer["diff-digest"] = diffDigest);

        Assert.Equal(body, await client.GetByteArrayAsync(url));
    }

    [Fact]
    public async Task NeitherARangeNorTheDescriptorIsServedUnderTheRecordedDigestByARecordThatNoLongerRebuildsIt()
    {
        var (id, _, diffDigest) = Buildah.CommittedLayers.Single(static l => l.Parent is null);

        await BreakFirstHeaderMtimeAsync(id);
        using var client = Server.CreateClient();
        var ranged = new HttpRequestMessage(HttpMethod.Get, new Uri($"/layers/{id}/tar", UriKind.Relative));
        ranged.Headers.Range = new System.Net.Http.Headers.RangeHeaderValue(0, 1023);

        using var response = await client.SendAsync(ranged);
        using var descriptor = await client.GetAsync(new Uri($"/layers/{id}/descriptor", UriKind.Relative));

        // Nothing changes while the record is checked: the store's record and files disagree, whatever a retry does.
        foreach (var answer in new[] { response, descriptor })
        {
            var problem = await ProblemAssert.IsProblemAsync(answer, HttpStatusCode.InternalServerError);
            Assert.Equal("urn:layer-export:problem:store-inconsistent", problem.GetProperty("type").GetString());
            Assert.Contains(diffDigest, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }

        // Once found, the state's recorded diffID is announced no more: HEAD names no digest, If-None-Match finds no match.
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri($"/layers/{id}/tar", UriKind.Relative)));
        var revalidate = new HttpRequestMessage(HttpMethod.Head, new Uri($"/layers/{id}/tar", UriKind.Relative));
        revalidate.Headers.TryAddWithoutValidation("If-None-Match", $"\"{diffDigest}\"");
        using var revalidated = await client.SendAsync(revalidate);
        Assert.Equal(HttpStatusCode.OK, head.StatusCode);
        Assert.False(head.Headers.Contains("Docker-Content-Digest"));
        Assert.Null(head.Headers.ETag);
        Assert.Equal(HttpStatusCode.OK, revalidated.StatusCode);
    }

    [Fact]
    public async Task AWholeDownloadOfASmallLayerWhoseRecordRebuildsAnotherTarIsAProblemNotAReset()
    {
        var (id, _, diffDigest) = Buildah.CommittedLayers.Single(static l => l.Parent is null);

        await BreakFirstHeaderMtimeAsync(id);
        using var client = Server.CreateClient();

        // The whole tar is smaller than the first flush: when its digest is found wrong, nothing has left yet.
        using var response = await client.GetAsync(new Uri($"/layers/{id}/tar", UriKind.Relative));
        var curl = await ProcessRunner.RunAsync("curl", ["-sS", "-w", "\n%{http_code}", Server.Url($"/layers/{id}/tar")]);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:store-inconsistent", problem.GetProperty("type").GetString());
        Assert.Contains(diffDigest, problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.False(response.Headers.Contains("Docker-Content-Digest"));
        Assert.Null(response.Headers.ETag);
        Assert.Null(response.Content.Headers.ContentDisposition);
        Assert.True(curl.ExitCode == 0, $"curl saw a failed transfer, not a status: {curl.Describe()}");
        Assert.EndsWith("\n500", curl.StandardOutput, StringComparison.Ordinal);
        Assert.Contains("store-inconsistent", curl.StandardOutput, StringComparison.Ordinal);
    }

    [Fact]
    public async Task IfMatchWithTheRecordedDigestChecksTheRecordBeforeTheResponse()
    {
        var (id, _, diffDigest) = Buildah.CommittedLayers.Single(static l => l.Parent is null);

        await BreakFirstHeaderMtimeAsync(id);
        using var client = Server.CreateClient();
        var conditional = new HttpRequestMessage(HttpMethod.Get, new Uri($"/layers/{id}/tar", UriKind.Relative));
        conditional.Headers.TryAddWithoutValidation("If-Match", $"\"{diffDigest}\"");

        // README: If-Match is answered against a digest found before the response, so the state's fault comes first.
        using var response = await client.SendAsync(conditional);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:store-inconsistent", problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task AHeadWithIfMatchChecksTheRecordAsItsGetWould()
    {
        var (id, _, diffDigest) = Buildah.CommittedLayers.Single(static l => l.Parent is null);

        await BreakFirstHeaderMtimeAsync(id);
        using var client = Server.CreateClient();
        var conditional = new HttpRequestMessage(HttpMethod.Head, new Uri($"/layers/{id}/tar", UriKind.Relative));
        conditional.Headers.TryAddWithoutValidation("If-Match", $"\"{diffDigest}\"");

        // No body follows a HEAD, so no export would find the fault later: only the check before the answer can.
        using var response = await client.SendAsync(conditional);

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.False(response.Headers.Contains("Docker-Content-Digest"));
        Assert.Null(response.Headers.ETag);
    }

    [Fact]
    public async Task ARangeHeaderThatAsksForNoRangeIsAnsweredWithoutCheckingTheRecordFirst()
    {
        var (id, _, _) = Buildah.CommittedLayers.Single(static l => l.Parent is null);

        // Any whole export of the record now fails.
        await BreakFirstHeaderMtimeAsync(id);
        using var client = Server.CreateClient();
        var malformed = new HttpRequestMessage(HttpMethod.Get, new Uri($"/layers/{id}/tar", UriKind.Relative));
        malformed.Headers.TryAddWithoutValidation("Range", "bytes=abc");

        // README: a Range that is not a byte range is 400 malformed-range; no export is needed to say so.
        using var response = await client.SendAsync(malformed);

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.Equal("urn:layer-export:problem:malformed-range", problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task ASurveyThatMeetsARecordBeingRewrittenIsALayerChangingThatTheNextRequestGetsPast()
    {
        var (id, _, diffDigest) = Buildah.CommittedLayers.Single(static l => l.Parent is null);
        var record = Path.Combine(Buildah.Root, "vfs-layers", id + ".tar-split.gz");
        var whole = await File.ReadAllBytesAsync(record);

        // What the survey reads of a record rewritten in place: the first half; the writer is done by the second look.
        await File.WriteAllBytesAsync(record, whole[..(whole.Length / 2)]);
        await using var server = ApiServer.Start(
            Buildah.Root,
            services => services.DecorateLayerStore(store => new StoreChangingOnSecondWalk(store, () => File.WriteAllBytes(record, whole))),
            settings: new Dictionary<string, string> { ["LayerStore:Layout"] = "containers-storage", ["LayerStore:Access:RetryAttempts"] = "0" });
        using var client = server.CreateClient();

        using var changing = await client.GetAsync(new Uri($"/layers/{id}/tar", UriKind.Relative));

        // README: 503 layer-changing, not a 500 that says the layer is broken; the next request gets the recorded tar.
        var problem = await ProblemAssert.IsProblemAsync(changing, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:layer-changing", problem.GetProperty("type").GetString());
        var body = await client.GetByteArrayAsync(new Uri($"/layers/{id}/tar", UriKind.Relative));
        Assert.Equal(diffDigest, "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body)));
    }

    // One byte of the first header's mtime: the record rebuilds a tar of the same length that is not the recorded one.
    private Task BreakFirstHeaderMtimeAsync(string id) => EditRecordAsync(id, static entries =>
    {
        var segment = entries.First(static e => (int)e["type"]! == 2 && Convert.FromBase64String((string)e["payload"]!).Length >= 512);
        var bytes = Convert.FromBase64String((string)segment["payload"]!);
        bytes[146] ^= 1;
        segment["payload"] = Convert.ToBase64String(bytes);
    });

    // Rewrites a layer's tar-split record, one JSON object a line.
    private async Task EditRecordAsync(string id, Action<List<JsonObject>> edit)
    {
        var record = Path.Combine(Buildah.Root, "vfs-layers", id + ".tar-split.gz");
        List<JsonObject> entries;
        using (var reader = new StreamReader(new GZipStream(File.OpenRead(record), CompressionMode.Decompress)))
        {
            entries = [.. (await reader.ReadToEndAsync()).Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(static l => JsonNode.Parse(l)!.AsObject())];
        }

        edit(entries);
        await using var writer = new StreamWriter(new GZipStream(File.Create(record), CompressionLevel.Fastest));
        await writer.WriteAsync(string.Concat(entries.Select(static e => e.ToJsonString() + "\n")));
    }

    private async Task EditLayerAsync(string id, Action<JsonObject> edit)
    {
        var path = Path.Combine(Buildah.Root, "vfs-layers", "layers.json");
        var layers = JsonNode.Parse(await File.ReadAllTextAsync(path))!.AsArray();
        edit(layers.Single(l => (string?)l!["id"] == id)!.AsObject());
        await File.WriteAllTextAsync(path, layers.ToJsonString());
    }
}
