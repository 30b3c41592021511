using System.Net;
using System.Text.RegularExpressions;
using LayerExport.TestSupport;

namespace SidecarTests.Infrastructure;

/// <summary>A real OCI registry (Debian's <c>docker-registry</c>, i.e. distribution) with filesystem storage and no auth.</summary>
/// <remarks>
/// It listens on 127.0.0.1 port 0, so no free-port guess can race another test; the bound address comes from its
/// "listening on" log line, and /v2/ must answer 200 before the registry is handed out. Dispose kills it by PID.
/// </remarks>
internal sealed partial class RegistryProcess : IDisposable
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);
    private readonly LoggedProcess _process;

    private RegistryProcess(LoggedProcess process, Uri baseAddress)
    {
        _process = process;
        BaseAddress = baseAddress;
    }

    public Uri BaseAddress { get; }

    /// <summary>What the registry logged so far.</summary>
    public string Output => _process.Output;

    /// <summary>Writes a config into <paramref name="directory"/> (storage under it too) and starts the registry.</summary>
    public static async Task<RegistryProcess> StartAsync(string directory)
    {
        var storage = Directory.CreateDirectory(Path.Combine(directory, "storage")).FullName;
        var config = Path.Combine(directory, "config.yml");
        await File.WriteAllTextAsync(config, $"""
            version: 0.1
            log:
              level: info
            storage:
              filesystem:
                rootdirectory: {storage}
            http:
              addr: 127.0.0.1:0
              secret: sidecar-tests
            """);
        var process = LoggedProcess.Start(ExternalTool.Require("docker-registry"), ["serve", config], directory, new Dictionary<string, string>());
        try
        {
            var listening = await process.WaitForLineAsync(ListeningLine(), StartDeadline);
            var registry = new RegistryProcess(process, new Uri($"http://{listening.Groups["address"].Value}/"));
            using var client = registry.CreateClient();
            using var v2 = await client.GetAsync("/v2/");
            Assert.True(v2.StatusCode == HttpStatusCode.OK, $"GET /v2/ answered {(int)v2.StatusCode}; registry output:\n{process.Output}");
            return registry;
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    /// <summary>A client with one connection: requests run one after another (see <see cref="LoopbackHttp.CreateSequentialClient"/>).</summary>
    public HttpClient CreateClient() => LoopbackHttp.CreateSequentialClient(BaseAddress);

    public void Dispose() => _process.Dispose();

    [GeneratedRegex(@"listening on (?<address>127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();
}
