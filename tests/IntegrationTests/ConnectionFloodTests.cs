using System.Net;
using System.Net.Sockets;
using System.Text.RegularExpressions;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>Idle connections cannot use up the server's file descriptors: beyond its connection limit they are closed.</summary>
public sealed partial class ConnectionFloodTests : IDisposable
{
    private readonly TempLayerStore _store = TempLayerStore.Create().AddLayer("base");

    public void Dispose() => _store.Dispose();

    // Without a limit, 800 idle connections under a limit of 1024 took the descriptors the runtime needed for a thread,
    // and it aborted the process.
    [Fact]
    public async Task IdleConnectionsBeyondWhatTheDescriptorLimitLeavesAreClosedAndTheServerLives()
    {
        await using var server = ServerProcess.StartUnder(
            ["prlimit", "--nofile=1024:1024", "--"],
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root },
            "--urls", "http://127.0.0.1:0");
        var address = await server.WaitUntilListeningAsync();
        var accepted = int.Parse(AcceptedAtMost().Match(server.Output).Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture);

        const int Idle = 800;
        var sockets = new List<Socket>();
        try
        {
            for (var i = 0; i < Idle; i++)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                sockets.Add(socket);
                await socket.ConnectAsync(address.Host, address.Port);
            }

            // Every connection past the limit is closed by the server; those within it stay open, idle.
            Assert.Equal(Idle - accepted, await ClosedByTheServerAsync(sockets, Idle - accepted));
            Assert.False(server.HasExited, server.Output);
        }
        finally
        {
            sockets.ForEach(socket => socket.Dispose());
        }

        Assert.Equal(HttpStatusCode.OK, await FirstAnswerAsync(server, address));
    }

    [Fact]
    public async Task AConfiguredLimitClosesTheConnectionsBeyondIt()
    {
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, ["Limits__Connections"] = "2" },
            "--urls", "http://127.0.0.1:0");
        var address = await server.WaitUntilListeningAsync();

        // Each holder's answered request proves its connection took a slot; its pool keeps the connection open.
        using (var first = new HttpClient { BaseAddress = address, Timeout = CapturedLogs.SafetyTimeout })
        using (var second = new HttpClient { BaseAddress = address, Timeout = CapturedLogs.SafetyTimeout })
        using (var third = new HttpClient { BaseAddress = address, Timeout = CapturedLogs.SafetyTimeout })
        {
            using var firstAnswer = await first.GetAsync(new Uri("/healthz", UriKind.Relative));
            using var secondAnswer = await second.GetAsync(new Uri("/healthz", UriKind.Relative));
            Assert.Equal([HttpStatusCode.OK, HttpStatusCode.OK], [firstAnswer.StatusCode, secondAnswer.StatusCode]);

            await Assert.ThrowsAsync<HttpRequestException>(() => third.GetAsync(new Uri("/healthz", UriKind.Relative)));
        }

        Assert.Equal(HttpStatusCode.OK, await FirstAnswerAsync(server, address));
        Assert.DoesNotMatch(AcceptedAtMost(), server.Output);
    }

    // Waits until this many of the sockets were closed by the server (or until the safety timeout) and says how many were.
    private static async Task<int> ClosedByTheServerAsync(List<Socket> sockets, int expected)
    {
        using var timeout = new CancellationTokenSource(CapturedLogs.SafetyTimeout);
        var reads = sockets.Select(socket => socket.ReceiveAsync(new byte[1], SocketFlags.None, timeout.Token).AsTask()).ToList();
        var closed = 0;
        while (closed < expected && reads.Count > 0)
        {
            var read = await Task.WhenAny(reads);
            reads.Remove(read);
            if (read.IsCanceled)
            {
                break;
            }

            closed += read.IsFaulted || read.Result == 0 ? 1 : 0;
        }

        return closed;
    }

    // The server notices closed connections on its own time: the first answer after them, not the first attempt.
    private static async Task<HttpStatusCode> FirstAnswerAsync(ServerProcess server, Uri address)
    {
        using var timeout = new CancellationTokenSource(CapturedLogs.SafetyTimeout);
        while (true)
        {
            using var client = new HttpClient { BaseAddress = address };
            try
            {
                using var response = await client.GetAsync(new Uri("/layers", UriKind.Relative), timeout.Token);
                return response.StatusCode;
            }
            catch (HttpRequestException) when (!timeout.IsCancellationRequested && !server.HasExited)
            {
                await Task.Yield();
            }
        }
    }

    [GeneratedRegex(@"Accepting at most (\d+) connections at once")]
    private static partial Regex AcceptedAtMost();
}
