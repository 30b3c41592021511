using System.Globalization;
using System.Net;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>A SIGTERM answers the requests a hung layer store holds at once, and the server exits, whatever the store's time limits.</summary>
public sealed class HungStoreStopTests : IDisposable
{
    private const string Layer = "layer";
    private const int OpenAt = 257;

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer(Layer)
        .AddFile(Layer, "file.txt", "content\n"u8.ToArray());

    public void Dispose() => _store.Dispose();

    // The server runs under strace, which holds every openat relative to the layer's directory (its layer.json first)
    // for ten minutes, as a hard-mounted network file system whose server is gone holds it for good. With one export
    // slot the first request's hung call takes the only turn, and the second waits for it (a download asks the store
    // whether it can only be refused before it queues for the slot). Only the store's reads heed the stop on a
    // describe's way, so they alone can answer the second describe; a second download that had not reached the store
    // by the SIGTERM is refused by the export queue, which heeds it too.
    [Theory]
    [InlineData("")]
    [InlineData("/tar")]
    public async Task ASigtermAnswersARequestWaitingForAHungStoreCallAndOneWaitingForItsTurnWithServiceStoppingAndTheServerExits(string endpoint)
    {
        var layerDirectory = Path.Combine(_store.Root, Layer);
        await using var tracer = ServerProcess.StartUnder(
            ["strace", "-f", "-qq", "--seccomp-bpf", "-e", "trace=openat", "-e", "inject=openat:delay_enter=600s", "-P", layerDirectory, "-o", "/dev/null", "--"],
            AppContext.BaseDirectory,
            new Dictionary<string, string>
            {
                ["LayerStore__Root"] = _store.Root,
                ["LayerStore__Access__PrepareTimeout"] = "00:10:00",
                ["Limits__ShutdownTimeout"] = "00:10:00",
                ["Limits__ConcurrentExports"] = "1",
                ["DigestCache__Directory"] = "",
                ["Serilog__MinimumLevel__Override__Microsoft.AspNetCore.Hosting.Diagnostics"] = "Information",
            },
            "--urls",
            "http://127.0.0.1:0");
        using var client = new HttpClient { BaseAddress = await tracer.WaitUntilListeningAsync(), Timeout = Timeout.InfiniteTimeSpan };
        using var server = tracer.WrappedServer();
        try
        {
            var path = new Uri($"/layers/{Layer}{endpoint}", UriKind.Relative);
            var hung = client.GetAsync(path);
            Assert.True(SpinWait.SpinUntil(() => OpensInside(server.Id, layerDirectory), CapturedLogs.SafetyTimeout), "the server never opened a file of the layer");
            var waiting = client.GetAsync(path);
            var starting = $"Request starting HTTP/1.1 GET {new Uri(client.BaseAddress, path)} ";
            Assert.True(
                SpinWait.SpinUntil(() => tracer.Output.Split(starting).Length == 3, CapturedLogs.SafetyTimeout),
                $"the server never began the second request:{Environment.NewLine}{tracer.Output}");

            var term = await ProcessRunner.RunAsync("kill", ["-TERM", server.Id.ToString(CultureInfo.InvariantCulture)]);
            Assert.True(term.ExitCode == 0, term.Describe());
            using var hungAnswer = await hung.WaitAsync(CapturedLogs.SafetyTimeout);
            using var waitingAnswer = await waiting.WaitAsync(CapturedLogs.SafetyTimeout);

            foreach (var response in new[] { hungAnswer, waitingAnswer })
            {
                var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
                Assert.Equal("urn:layer-export:problem:service-stopping", problem.GetProperty("type").GetString());
                Assert.Equal("Service stopping", problem.GetProperty("title").GetString());
            }

            // strace 6.1 reaps the held thread only when its delay ends: the server's end shows as its main thread's.
            Assert.True(SpinWait.SpinUntil(() => Ended(server.Id), CapturedLogs.SafetyTimeout), $"the server did not exit:{Environment.NewLine}{tracer.Output}");
        }
        finally
        {
            // strace killed would let the held openat go on in a server left running.
            if (!server.HasExited)
            {
                server.Kill();
            }
        }
    }

    // The state letter follows the command's closing parenthesis in /proc/<pid>/stat; Z once its main thread exited.
    private static bool Ended(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            return stat[stat.LastIndexOf(')') + 2] is 'Z' or 'X';
        }
        catch (IOException)
        {
            return true;
        }
    }

    // Whether a thread of the process is stopped in an openat whose directory descriptor is that of `directory`.
    private static bool OpensInside(int pid, string directory)
    {
        foreach (var task in Directory.EnumerateDirectories($"/proc/{pid}/task"))
        {
            string[] call;
            try
            {
                call = File.ReadAllText(Path.Combine(task, "syscall")).Split(' ');
            }
            catch (IOException)
            {
                // The thread ended since it was listed.
                continue;
            }

            if (call.Length > 1 && call[0] == OpenAt.ToString(CultureInfo.InvariantCulture)
                && new FileInfo($"/proc/{pid}/fd/{Convert.ToInt32(call[1], 16)}").LinkTarget == directory)
            {
                return true;
            }
        }

        return false;
    }
}
