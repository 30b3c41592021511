using System.Globalization;
using System.Net.Sockets;
using System.Text;
using IntegrationTests.Support;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IntegrationTests;

/// <summary>A client that stops reading holds no more than the socket buffers, and is dropped by the minimum data rate.</summary>
public sealed class SlowClientTests : IDisposable
{
    private const long BlobSize = 64L * 1024 * 1024;

    // The kernel's send buffer (at most 4 MiB here), the client's fixed receive buffer, Kestrel's 64 KiB and one flush.
    private const long BufferedAtMost = 16L * 1024 * 1024;

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("big")
        .AddPatternFile("big", "data/blob.bin", BlobSize);

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task AStalledClientIsDroppedAndTheServerNeverGetsFarAheadOfIt()
    {
        // Kestrel gives each write max(grace period, its bytes / rate) to leave, accumulated over the writes: with
        // megabytes in the socket buffers, a high rate gets a reader that never reads dropped within the grace period.
        await using var server = ApiServer.Start(_store.Root, settings: new Dictionary<string, string>
        {
            ["Limits:MinResponseBytesPerSecond"] = "50000000",
            ["Limits:MinResponseGracePeriod"] = "00:00:02",
        });
        var rate = server.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits.MinResponseDataRate;
        Assert.Equal(50_000_000, rate?.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(2), rate?.GracePeriod);

        // A fixed, small receive buffer keeps the kernel from growing the window for a reader that never reads.
        using var tcp = new TcpClient { ReceiveBufferSize = 64 * 1024 };
        await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /layers/big/tar HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\n\r\n"));
        var head = await ReadHeadAsync(stream);
        Assert.StartsWith("HTTP/1.1 200", head, StringComparison.Ordinal);

        var cancelled = await server.Logs.WaitForExportOutcomeAsync("big", "cancelled");

        var produced = long.Parse(CapturedLogs.Property(cancelled, "Bytes")!, CultureInfo.InvariantCulture);
        Assert.True(produced < BufferedAtMost, $"the server produced {produced} bytes for a client that read none");
        var rest = await ReadToEndOrFailureAsync(stream);
        Assert.True(rest < BlobSize, $"the dropped client still got {rest} bytes");
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (!head.AsEnumerable().Reverse().Take(4).SequenceEqual("\n\r\n\r"u8.ToArray()))
        {
            Assert.Equal(1, await stream.ReadAsync(one));
            head.Add(one[0]);
        }

        return Encoding.ASCII.GetString([.. head]);
    }

    private static async Task<long> ReadToEndOrFailureAsync(NetworkStream stream)
    {
        var buffer = new byte[1024 * 1024];
        long total = 0;
        try
        {
            for (int n; (n = await stream.ReadAsync(buffer)) > 0;)
            {
                total += n;
            }
        }
        catch (IOException)
        {
            // A reset: the server dropped the connection.
        }

        return total;
    }
}
