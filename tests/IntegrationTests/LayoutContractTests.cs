using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using System.Text.Json;
using IntegrationTests.Support;
using LayerExport.Core.Tests.Support;
using LayerExport.TestSupport;

namespace IntegrationTests;

/// <summary>What a registry push and an operator rely on holds for a non-base layer of each layout, checked against GNU tar, SHA-256 and the bodies themselves.</summary>
/// <remarks>The metrics are read as differences around each download: these tests run alone (see <see cref="MetricsTests"/>).</remarks>
[Collection(nameof(ProcessWideMeasurements))]
public sealed class LayoutContractTests
{
    // Small enough that the larger layers' gzip bodies have several blocks.
    private const int GzipBlockSize = 64 * 1024;

    private static readonly string[] Compressions = ["none", "gzip", "zstd"];

    [Theory]
    [InlineData("native")]
    [InlineData("containers-storage")]
    [InlineData("docker")]
    [InlineData("overlay2")]
    [InlineData("snapshots")]
    [InlineData("windows")]
    public async Task DescriptorsHeadersRangesCompletionLinesAndMetricsAgreeWithTheBodiesSent(string layout)
    {
        using var store = await LayoutStore.CreateAsync(layout);
        await using var server = ApiServer.Start(store.Root, settings: new Dictionary<string, string>
        {
            ["LayerStore:Layout"] = layout,
            ["Export:Gzip:BlockSize"] = GzipBlockSize.ToString(CultureInfo.InvariantCulture),
        });
        using var client = server.CreateClient();
        var exports = 0;
        var bodies = new Dictionary<string, byte[]>();
        var diffIds = new List<string>();
        List<long> memberStarts = [];

        foreach (var compression in Compressions)
        {
            var descriptor = JsonDocument.Parse(await client.GetStringAsync(Url(store.Id, "descriptor", compression))).RootElement;
            var before = await PrometheusScrape.TakeAsync(client);

            using var response = await client.GetAsync(Url(store.Id, "tar", compression));
            var body = await response.Content.ReadAsByteArrayAsync();
            var completed = (await server.Logs.WaitForExportOutcomesAsync(store.Id, ++exports))[^1];
            var after = await PrometheusScrape.TakeAsync(client);
            bodies[compression] = body;
            diffIds.Add(descriptor.GetProperty("diffID").GetString()!);

            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var digest = Sha256(body);
            Assert.Equal(digest, descriptor.GetProperty("digest").GetString());
            Assert.Equal(body.LongLength, descriptor.GetProperty("size").GetInt64());
            Assert.Equal(body.LongLength, response.Content.Headers.ContentLength);
            Assert.Equal(digest, Assert.Single(response.Headers.GetValues("Docker-Content-Digest")));

            if (compression == "none")
            {
                var archive = Path.Combine(store.Scratch, "body.tar");
                await File.WriteAllBytesAsync(archive, body);
                memberStarts = MemberStarts(await GnuTar.ListBlocksAsync(archive, store.TarOptions));
            }

            // The operator's figures: the line names the body sent, the metrics the tar made for it.
            Assert.Equal($"{body.LongLength}/{memberStarts.Count}/{digest}", $"{CapturedLogs.Property(completed, "Bytes")}/{CapturedLogs.Property(completed, "Entries")}/{CapturedLogs.Property(completed, "Digest")}");
            (string, string)[] tags = [("representation", compression), ("outcome", "completed")];
            Assert.Equal(bodies["none"].LongLength, Made(before, after, "layer_export_tar_bytes_total", tags));
            Assert.Equal(memberStarts.Count, Made(before, after, "layer_export_entries_total", tags));

            // A client that has the body learns from HEAD that it is still the one, and from a conditional GET gets no body.
            using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, Url(store.Id, "tar", compression)));
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(digest, Assert.Single(head.Headers.GetValues("Docker-Content-Digest")));
            Assert.Equal($"\"{digest}\"", head.Headers.ETag?.Tag);
            Assert.Equal(body.LongLength, head.Content.Headers.ContentLength);
            using var conditional = new HttpRequestMessage(HttpMethod.Get, Url(store.Id, "tar", compression));
            conditional.Headers.IfNoneMatch.Add(head.Headers.ETag!);
            using var notModified = await client.SendAsync(conditional);
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        }

        Assert.All(diffIds, diffId => Assert.Equal(Sha256(bodies["none"]), diffId));

        // A resumed push: a plain range from the middle, and a gzip one, are the same bytes as the whole bodies'.
        var tar = bodies["none"];
        var (start, end) = (tar.Length / 3, (2 * tar.Length / 3) - 1);
        var beforeRange = await PrometheusScrape.TakeAsync(client);
        Assert.Equal(tar[start..(end + 1)], await RangeAsync(client, Url(store.Id, "tar", "none"), start, end));
        await server.Logs.WaitForExportOutcomesAsync(store.Id, ++exports);
        var afterRange = await PrometheusScrape.TakeAsync(client);
        Assert.Equal(end - start + 1, Made(beforeRange, afterRange, "layer_export_tar_bytes_total", ("representation", "none"), ("outcome", "completed")));

        // A range counts the entries up to its end, those before its start included, as the tar's offset is counted.
        Assert.Equal(memberStarts.Count(offset => offset <= end), Made(beforeRange, afterRange, "layer_export_entries_total", ("representation", "none"), ("outcome", "completed")));

        // The last bytes of a tar rebuilt from a record are held back until the record is checked: a range may end there.
        Assert.Equal(tar[^700..], await RangeAsync(client, Url(store.Id, "tar", "none"), tar.Length - 700, tar.Length - 1));

        // A gzip range compresses the tar again from the start of the block holding its first byte (the trailer's is the
        // last block), a zstd one from the tar's start.
        var gzip = bodies["gzip"];
        var (gzipStart, gzipEnd) = (gzip.Length - 10, gzip.Length - 2);
        var beforeCompressed = await PrometheusScrape.TakeAsync(client);
        Assert.Equal(gzip[gzipStart..(gzipEnd + 1)], await RangeAsync(client, Url(store.Id, "tar", "gzip"), gzipStart, gzipEnd));
        var zstd = bodies["zstd"];
        Assert.Equal(zstd[10..^10], await RangeAsync(client, Url(store.Id, "tar", "zstd"), 10, zstd.Length - 11));
        await server.Logs.WaitForExportOutcomesAsync(store.Id, exports += 3);
        var afterCompressed = await PrometheusScrape.TakeAsync(client);
        var gzipMade = Made(beforeCompressed, afterCompressed, "layer_export_tar_bytes_total", ("representation", "gzip"), ("outcome", "completed"));
        Assert.Equal(tar.Length - ((tar.Length - 1) / GzipBlockSize * GzipBlockSize), gzipMade);
        Assert.Equal(tar.Length, Made(beforeCompressed, afterCompressed, "layer_export_tar_bytes_total", ("representation", "zstd"), ("outcome", "completed")));
    }

    private static Uri Url(string id, string resource, string compression) =>
        new($"/layers/{Uri.EscapeDataString(id)}/{resource}?compression={compression}", UriKind.Relative);

    private static async Task<byte[]> RangeAsync(HttpClient client, Uri url, long start, long end)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        request.Headers.Range = new RangeHeaderValue(start, end);
        using var response = await client.SendAsync(request);
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        return await response.Content.ReadAsByteArrayAsync();
    }

    // Where each member's bytes begin (its extended or long-name headers included): where the one before it ends.
    private static List<long> MemberStarts(IReadOnlyList<string> blockListing)
    {
        var starts = new List<long>();
        long next = 0;
        foreach (var line in blockListing.Where(static l => !l.Contains("** ", StringComparison.Ordinal)))
        {
            // block <n>: <mode> <owner> <size> <date> <time> <name>
            var fields = line.Split(' ', StringSplitOptions.RemoveEmptyEntries);
            starts.Add(next);
            var block = long.Parse(fields[1].TrimEnd(':'), CultureInfo.InvariantCulture);
            var size = long.Parse(fields[4], CultureInfo.InvariantCulture);
            next = (512 * (block + 1)) + ((size + 511) / 512 * 512);
        }

        return starts;
    }

    private static double Made(PrometheusScrape before, PrometheusScrape after, string name, params (string Name, string Value)[] labels) =>
        after.Value(name, labels) - before.Value(name, labels);

    private static string Sha256(byte[] bytes) => "sha256:" + Convert.ToHexStringLower(SHA256.HashData(bytes));

    // One non-base layer of a layout, in the store the suite builds for it, with a scratch directory beside it.
    private sealed class LayoutStore : IDisposable
    {
        private readonly DirectoryInfo _scratch = Directory.CreateTempSubdirectory("layout-contract-");
        private readonly List<IDisposable> _owned = [];

        public string Root { get; private set; } = "";

        public string Id { get; private set; } = "";

        public string Scratch => _scratch.FullName;

        /// <summary>What GNU tar needs to read the layout's tars without a complaint.</summary>
        public string[] TarOptions { get; private set; } = [];

        public static async Task<LayoutStore> CreateAsync(string layout)
        {
            var store = new LayoutStore();
            try
            {
                await store.BuildAsync(layout);
                return store;
            }
            catch
            {
                store.Dispose();
                throw;
            }
        }

        public void Dispose()
        {
            foreach (var owned in _owned)
            {
                owned.Dispose();
            }

            _scratch.Delete(recursive: true);
        }

        private async Task BuildAsync(string layout)
        {
            switch (layout)
            {
                case "native":
                    var native = TempLayerStore.Create()
                        .AddLayer("base")
                        .AddFile("base", "etc/hostname", "base\n"u8.ToArray())
                        .AddLayer("app", parent: "base")
                        .AddFile("app", "etc/app.conf", "a=1\n"u8.ToArray())
                        .AddPatternFile("app", "data/blob.bin", 200_000);
                    _owned.Add(native);
                    (Root, Id) = (native.Root, "app");
                    break;
                case "containers-storage":
                    var buildah = await BuildahStore.CreateAsync();
                    _owned.Add(buildah);
                    (Root, Id) = (buildah.Root, buildah.CommittedLayers.Single(static l => l.Parent is not null).Id);
                    break;
                case "docker":
                    Root = Directory.CreateDirectory(Path.Combine(Scratch, "store")).FullName;
                    var (baseChain, _) = await DockerDataRoot.AddLayerAsync(Root, "base", parent: null, "--format=gnu");
                    // A PAX global header, which tar-split records as a file entry of its own, is no member.
                    (Id, _) = await DockerDataRoot.AddLayerAsync(Root, "app", baseChain, "--format=posix", "--pax-option=comment=a-global-header");
                    break;
                case "overlay2":
                    Root = Directory.CreateDirectory(Path.Combine(Scratch, "store")).FullName;
                    File.WriteAllText(Path.Combine(Overlay2Directory.AddLayer(Root, "base", lower: []), "hostname"), "base\n");
                    var app = Overlay2Directory.AddLayer(Root, "app", lower: ["base"]);
                    Directory.CreateDirectory(Path.Combine(app, "etc"));
                    File.WriteAllText(Path.Combine(app, "etc", "app.conf"), "a=1\n");
                    File.WriteAllBytes(Path.Combine(app, "app.bin"), RandomNumberGenerator.GetBytes(70_000));
                    Id = Overlay2Directory.Id("app");
                    break;
                case "snapshots":
                    Root = Directory.CreateDirectory(Path.Combine(Scratch, "store")).FullName;
                    await SnapshotTrees.AddBaseAndChildAsync(Root);
                    Id = "child";
                    break;
                case "windows":
                    Root = Directory.CreateDirectory(Path.Combine(Scratch, "store")).FullName;
                    WindowsLayerFiles.AddBaseAndApp(Root);
                    Id = "app";

                    // Windows' own PAX records, which GNU tar reports it ignores.
                    TarOptions = ["--pax-option=delete=MSWINDOWS.*,delete=LIBARCHIVE.*"];
                    break;
                default:
                    throw new ArgumentOutOfRangeException(nameof(layout), layout, "no store is built for this layout");
            }
        }
    }
}
