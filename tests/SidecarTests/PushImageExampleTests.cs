using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>
/// <c>examples/push-image.py</c> publishes a layer chain as an image that skopeo pulls and umoci unpacks into the
/// chain's merged tree: both check every digest and diffID on the way.
/// </summary>
public sealed class PushImageExampleTests
{
    private const string Repository = "example/chain";

    [Fact]
    public async Task ThePushedChainIsAnImageThatPullsAndUnpacksIntoTheMergedTree()
    {
        using var work = new TemporaryDirectory("push-example");
        var store = new NativeStoreBuilder(work.Combine("store"));
        var baseDiff = store.AddLayer("base");
        NativeStoreBuilder.WriteFile(baseDiff, "etc/hostname", "base\n"u8.ToArray());
        NativeStoreBuilder.WriteFile(baseDiff, "etc/os-release", "ID=demo\n"u8.ToArray());
        NativeStoreBuilder.WriteFile(baseDiff, "usr/lib/libdemo.so", TestContent.Random(seed: 5, length: 200_000));
        var appDiff = store.AddLayer("app", parent: "base");
        NativeStoreBuilder.WriteFile(appDiff, "app/main.py", "print('hello')\n"u8.ToArray());
        NativeStoreBuilder.WriteFile(appDiff, "etc/.wh.os-release", []);
        var patchDiff = store.AddLayer("patch", parent: "app");
        NativeStoreBuilder.WriteFile(patchDiff, "etc/hostname", "patched\n"u8.ToArray());
        using var server = new ApiServer(store.Root, work.Combine("digests"));
        using var registry = await RegistryProcess.StartAsync(work.CreateSubdirectory("registry"));

        var first = await PushAsync(server, registry, "v1");
        var second = await PushAsync(server, registry, "v2");

        Assert.Matches("^sha256:[0-9a-f]{64}$", first.Digest);
        Assert.Equal(first.Digest, second.Digest);
        Assert.Equal(3, CountLines(first.Log, " pushed sha256:"));
        Assert.Equal(3, CountLines(second.Log, " already in the registry"));
        using (var client = registry.CreateClient())
        using (var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{Repository}/manifests/v1")
        {
            Headers = { { "Accept", "application/vnd.oci.image.manifest.v1+json" } },
        }))
        {
            Assert.Equal(HttpStatusCode.OK, head.StatusCode);
            Assert.Equal(first.Digest, head.Headers.GetValues("Docker-Content-Digest").Single());
        }

        var rootfs = await PullAndUnpackAsync(registry, work, "v1");
        Assert.Equal("patched\n", await File.ReadAllTextAsync(Path.Combine(rootfs, "etc", "hostname")));
        Assert.False(File.Exists(Path.Combine(rootfs, "etc", "os-release")), "the app layer's whiteout was not applied");
        Assert.Equal("print('hello')\n", await File.ReadAllTextAsync(Path.Combine(rootfs, "app", "main.py")));
        Assert.Equal(TestContent.Random(seed: 5, length: 200_000), await File.ReadAllBytesAsync(Path.Combine(rootfs, "usr", "lib", "libdemo.so")));
    }

    // The script asks for each layer's descriptor, then downloads it: with BlobCache set, the body the descriptor was
    // computed from is kept, and the upload reads it back instead of compressing the layer a second time.
    [Fact]
    public async Task WithKeptBodiesEachUploadIsTheBodyItsDescriptorKept()
    {
        using var work = new TemporaryDirectory("push-example-kept");
        var store = new NativeStoreBuilder(work.Combine("store"));
        NativeStoreBuilder.WriteFile(store.AddLayer("base"), "usr/lib/libdemo.so", TestContent.Random(seed: 7, length: 300_000));
        NativeStoreBuilder.WriteFile(store.AddLayer("app", parent: "base"), "app/main.py", "print('kept')\n"u8.ToArray());
        var blobs = work.Combine("blobs");
        using var server = new ApiServer(store.Root, work.Combine("digests"), new Dictionary<string, string> { ["BlobCache:Directory"] = blobs });
        using var registry = await RegistryProcess.StartAsync(work.CreateSubdirectory("registry"));

        var result = (await RunAsync(server.BaseAddress.ToString(), registry.BaseAddress.ToString(), "kept", "app"))
            .EnsureSuccess("push-image.py with kept bodies");

        Assert.Equal(2, CountLines(result.Stderr, " pushed sha256:"));
        using (var client = server.CreateClient())
        {
            var metrics = await PrometheusScrape.TakeAsync(client);
            Assert.Equal(2, metrics.Value("layer_export_kept_bodies_sent_total", ("representation", "gzip")));
        }

        var pushed = Directory.GetFiles(blobs).Select(Path.GetFileName).Order(StringComparer.Ordinal);
        var announced = result.Stderr.Split('\n').Where(static line => line.Contains(" pushed sha256:", StringComparison.Ordinal))
            .Select(static line => line.Split(' ')[2].Replace(':', '-')).Order(StringComparer.Ordinal);
        Assert.Equal(announced, pushed);
        var rootfs = await PullAndUnpackAsync(registry, work, "kept");
        Assert.Equal("print('kept')\n", await File.ReadAllTextAsync(Path.Combine(rootfs, "app", "main.py")));
        Assert.Equal(TestContent.Random(seed: 7, length: 300_000), await File.ReadAllBytesAsync(Path.Combine(rootfs, "usr", "lib", "libdemo.so")));
    }

    // A containers-storage name may hold '/', '%' and any other text: the script asks for it as one percent-encoded
    // path segment, and pushes the layer it names under that layer's ID.
    [Fact]
    public async Task AContainersStorageLayerIsPushedByANameHoldingASlashAPercentAndNonAsciiText()
    {
        const string name = "registry.example/app:v1 100% ü";
        using var work = new TemporaryDirectory("push-example-name");
        var root = work.Combine("store");
        var baseId = Convert.ToHexStringLower(SHA256.HashData("base"u8));
        var topId = Convert.ToHexStringLower(SHA256.HashData("top"u8));
        NativeStoreBuilder.WriteFile(Path.Combine(root, "overlay", baseId, "diff"), "etc/hostname", "base\n"u8.ToArray());
        NativeStoreBuilder.WriteFile(Path.Combine(root, "overlay", topId, "diff"), "app/main.py", "print('named')\n"u8.ToArray());
        NativeStoreBuilder.WriteFile(root, "overlay-layers/layers.json", Encoding.UTF8.GetBytes(
            $$"""[{"id":"{{baseId}}"},{"id":"{{topId}}","parent":"{{baseId}}","names":["{{name}}"]}]"""));
        using var server = new ApiServer(root, work.Combine("digests"), new Dictionary<string, string> { ["LayerStore:Layout"] = "containers-storage" });
        using var registry = await RegistryProcess.StartAsync(work.CreateSubdirectory("registry"));

        var result = (await RunAsync(server.BaseAddress.ToString(), registry.BaseAddress.ToString(), "named", name))
            .EnsureSuccess("push-image.py with a layer name");

        Assert.Contains($"{baseId}: pushed sha256:", result.Stderr, StringComparison.Ordinal);
        Assert.Contains($"{topId}: pushed sha256:", result.Stderr, StringComparison.Ordinal);
        var rootfs = await PullAndUnpackAsync(registry, work, "named");
        Assert.Equal("base\n", await File.ReadAllTextAsync(Path.Combine(rootfs, "etc", "hostname")));
        Assert.Equal("print('named')\n", await File.ReadAllTextAsync(Path.Combine(rootfs, "app", "main.py")));
    }

    [Fact]
    public async Task AServerOrRegistryItCannotReachIsAMessageNotATraceback()
    {
        using var work = new TemporaryDirectory("push-example-unreachable");
        using var server = OneLayerServer(work);
        // A port bound but not listened on refuses every connection, and nothing else can take it meanwhile.
        using var closed = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        closed.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        var nowhere = $"http://127.0.0.1:{((IPEndPoint)closed.LocalEndPoint!).Port}";

        foreach (var (serverAddress, registryAddress) in new[] { (nowhere, nowhere), (server.BaseAddress.ToString(), nowhere) })
        {
            var result = await RunAsync(serverAddress, registryAddress, "latest", "base");

            Assert.Equal(1, result.ExitCode);
            Assert.StartsWith("push-image: ", result.Stderr, StringComparison.Ordinal);
            Assert.Contains("Connection refused", result.Stderr, StringComparison.Ordinal);
            Assert.DoesNotContain("Traceback", result.Stderr, StringComparison.Ordinal);
        }
    }

    // A registry that has every blob already, then goes away as the manifest is put: the last step fails like the others.
    [Fact]
    public async Task ARegistryThatGoesAwayAtTheManifestIsAMessageNotATraceback()
    {
        using var work = new TemporaryDirectory("push-example-manifest");
        using var server = OneLayerServer(work);
        using var registry = new TcpListener(IPAddress.Loopback, 0);
        registry.Start();
        using var stop = new CancellationTokenSource();
        var answering = AnswerHeadsAndDropTheRestAsync(registry, stop.Token);

        var result = await RunAsync(server.BaseAddress.ToString(), $"http://127.0.0.1:{((IPEndPoint)registry.LocalEndpoint).Port}", "latest", "base");
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => answering);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains("base: sha256:", result.Stderr, StringComparison.Ordinal);
        Assert.Contains("push-image: pushing the image config and manifest to http://127.0.0.1:", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Traceback", result.Stderr, StringComparison.Ordinal);
    }

    // A failed export ends its transfer short (a plain tar over HTTP/1.1 closes the connection after its marker): the
    // push fails at once, and the registry, which would otherwise wait for the rest until its socket timed out, keeps nothing.
    [Fact]
    public async Task AnExportThatEndsShortFailsThePushAtOnceAndNothingLands()
    {
        using var work = new TemporaryDirectory("push-example-short");
        using var registry = await RegistryProcess.StartAsync(work.CreateSubdirectory("registry"));
        using var server = new TcpListener(IPAddress.Loopback, 0);
        server.Start();
        var tar = TestContent.Random(seed: 7, length: 100_000);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar));
        using var stop = new CancellationTokenSource();
        var serving = ServeALayerThatEndsShortAsync(server, tar, digest, stop.Token);

        var result = await RunAsync($"http://127.0.0.1:{((IPEndPoint)server.LocalEndpoint).Port}", registry.BaseAddress.ToString(), "latest", "base");
        await stop.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => serving);

        Assert.Equal(1, result.ExitCode);
        Assert.Contains($"push-image: base: the transfer failed (IncompleteRead(0 bytes read, {ShortBy} more expected)); nothing was committed under {digest}", result.Stderr, StringComparison.Ordinal);
        Assert.DoesNotContain("Traceback", result.Stderr, StringComparison.Ordinal);
        using var client = registry.CreateClient();
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, $"/v2/{Repository}/blobs/{digest}"));
        Assert.Equal(HttpStatusCode.NotFound, head.StatusCode);
    }

    private const int ShortBy = 60_000;

    // LayerExport as the script meets it for a layer "base" whose whole download fails after its first bytes.
    private static async Task ServeALayerThatEndsShortAsync(TcpListener listener, byte[] tar, string digest, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var client = await listener.AcceptTcpClientAsync(cancellationToken);
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
            var path = (await reader.ReadLineAsync(cancellationToken))?.Split(' ')[1] ?? "";
            while (!string.IsNullOrEmpty(await reader.ReadLineAsync(cancellationToken)))
            {
            }

            var (body, length) = path switch
            {
                "/layers/base" => (Encoding.UTF8.GetBytes("""{"id":"base","chain":[],"layout":"native"}"""), -1),
                _ when path.StartsWith("/layers/base/descriptor", StringComparison.Ordinal) => (Encoding.UTF8.GetBytes(
                    $$"""{"mediaType":"application/vnd.oci.image.layer.v1.tar+gzip","digest":"{{digest}}","size":{{tar.Length}},"diffID":"{{digest}}"}"""), -1),
                _ => (tar[..(tar.Length - ShortBy)], tar.Length),
            };
            var head = $"HTTP/1.1 200 OK\r\nContent-Length: {(length < 0 ? body.Length : length)}\r\nConnection: close\r\n\r\n";
            await stream.WriteAsync(Encoding.ASCII.GetBytes(head), cancellationToken);
            await stream.WriteAsync(body, cancellationToken);
        }
    }

    // Every HEAD finds its blob; any other request is read up to its body and closed unanswered.
    private static async Task AnswerHeadsAndDropTheRestAsync(TcpListener listener, CancellationToken cancellationToken)
    {
        while (true)
        {
            using var client = await listener.AcceptTcpClientAsync(cancellationToken);
            var stream = client.GetStream();
            using var reader = new StreamReader(stream, Encoding.ASCII, leaveOpen: true);
            var requestLine = await reader.ReadLineAsync(cancellationToken);
            while (!string.IsNullOrEmpty(await reader.ReadLineAsync(cancellationToken)))
            {
            }

            if (requestLine?.StartsWith("HEAD ", StringComparison.Ordinal) == true)
            {
                await stream.WriteAsync("HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"u8.ToArray(), cancellationToken);
            }
        }
    }

    // One layer, "base": enough for a push to reach the registry.
    private static ApiServer OneLayerServer(TemporaryDirectory work)
    {
        var store = new NativeStoreBuilder(work.Combine("store"));
        NativeStoreBuilder.WriteFile(store.AddLayer("base"), "etc/hostname", "base\n"u8.ToArray());
        return new ApiServer(store.Root, work.Combine("digests"));
    }

    private static async Task<(string Digest, string Log)> PushAsync(ApiServer server, RegistryProcess registry, string tag)
    {
        var result = (await RunAsync(server.BaseAddress.ToString(), registry.BaseAddress.ToString(), tag, "patch"))
            .EnsureSuccess($"push-image.py --tag {tag}");
        return (Encoding.UTF8.GetString(result.Stdout).Trim(), result.Stderr);
    }

    private static Task<ToolResult> RunAsync(string server, string registry, string tag, string layer) =>
        ExternalTool.RunAsync(
            "python3",
            Path.Combine(AppContext.BaseDirectory, "examples", "push-image.py"),
            "--server", server,
            "--registry", registry,
            "--repository", Repository,
            "--tag", tag,
            layer);

    // skopeo checks each blob against its digest; umoci checks each layer's uncompressed digest against the
    // config's diffIDs and applies the whiteouts.
    private static async Task<string> PullAndUnpackAsync(RegistryProcess registry, TemporaryDirectory work, string tag)
    {
        var policy = work.Combine("policy.json");
        await File.WriteAllTextAsync(policy, """{"default": [{"type": "insecureAcceptAnything"}]}""");
        var layout = work.Combine("oci");
        var source = $"docker://{registry.BaseAddress.Authority}/{Repository}:{tag}";
        (await ExternalTool.RunAsync("skopeo", "--policy", policy, "copy", "--src-tls-verify=false", source, $"oci:{layout}:{tag}"))
            .EnsureSuccess("skopeo copy");
        var bundle = work.Combine("bundle");
        (await ExternalTool.RunAsync("umoci", "unpack", "--image", $"{layout}:{tag}", bundle)).EnsureSuccess("umoci unpack");
        return Path.Combine(bundle, "rootfs");
    }

    private static int CountLines(string text, string containing) =>
        text.Split('\n').Count(line => line.Contains(containing, StringComparison.Ordinal));
}
