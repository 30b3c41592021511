using System.Diagnostics;
using System.Net;
using LayerExport.TestSupport;
using StressTests.Infrastructure;
using Xunit.Abstractions;

namespace StressTests;

/// <summary>Eight clients read a 2 GiB layer at 64 KiB/s each: the server reads only a bounded distance ahead of them, and its memory stays bounded.</summary>
/// <remarks>
/// The layer is one sparse 2 GiB file, which the server reads at memory speed: without back-pressure it would
/// read (and buffer) gigabytes within the run. The clients pace their own reads; the figures are the server's
/// resident memory (VmHWM, the kernel's peak) and how far its reads (rchar) ran ahead of what the clients received.
/// </remarks>
public sealed class SlowClientTests(ITestOutputHelper output)
{
    private const string LayerId = "huge";
    private const long LayerSize = 2L * 1024 * 1024 * 1024;
    private const int Clients = 8;
    private const int BytesPerSecond = 64 * 1024;
    private const int ReadSize = 16 * 1024;

    /// <summary>The bound on the server's resident memory, KiB (300 MB).</summary>
    private const long ResidentLimitKiB = 300_000_000 / 1024;

    /// <summary>How far the server may read ahead of one client, bytes: socket buffers on both sides, the response pipe, a read chunk.</summary>
    private const long ReadAheadPerClient = 64L * 1024 * 1024;

    [Fact]
    public async Task SlowClientsOfAHugeLayerKeepTheServersMemoryAndReadAheadBounded()
    {
        var figures = new Figures(output, "slow-clients");
        var duration = TimeSpan.FromSeconds(StressSettings.SlowSeconds);
        using var work = new TemporaryDirectory("stress-slow");
        var store = new NativeStoreBuilder(work.Combine("store"));
        var diff = store.AddLayer(LayerId);
        NativeStoreBuilder.WriteSparseFile(diff, "huge.bin", LayerSize);
        using var server = await ServerProcess.StartAsync(store.Root, work.Combine("digests"));
        using var client = server.CreateClient(maxConnections: Clients);
        var baseline = server.ReadStatus();

        // VmHWM is the kernel's own peak of the resident set, and read bytes only grow: one reading at the end holds both.
        var received = await Task.WhenAll(Enumerable.Range(0, Clients).Select(_ => Task.Run(() => ReadSlowlyAsync(client, duration))));
        var atEnd = server.ReadStatus();

        var total = received.Sum();
        var readAhead = atEnd.ReadChars - baseline.ReadChars - total;
        var peakResident = atEnd.PeakResidentKiB;
        figures.Report("clients", $"{Clients} at {BytesPerSecond / 1024} KiB/s for {duration.TotalSeconds:F0} s on a {LayerSize >> 30} GiB layer");
        figures.Report("received per client", $"{Figures.Megabytes(received.Min() / 1024)} to {Figures.Megabytes(received.Max() / 1024)}");
        figures.Report("server RSS", $"{Figures.Megabytes(baseline.ResidentKiB)} before, VmHWM {Figures.Megabytes(atEnd.PeakResidentKiB)} (limit {Figures.Megabytes(ResidentLimitKiB)})");
        figures.Report("server read beyond what clients received", $"{Figures.Megabytes(readAhead / 1024)} in total, {Figures.Megabytes(readAhead / Clients / 1024)} per client (limit {Figures.Megabytes(ReadAheadPerClient / 1024)} per client)");

        Assert.All(received, bytes => Assert.True(bytes >= BytesPerSecond * duration.TotalSeconds / 4, $"a client received only {bytes} bytes in {duration}"));
        Assert.True(peakResident < ResidentLimitKiB, $"the server's resident memory reached {Figures.Megabytes(peakResident)}");
        Assert.True(readAhead < ReadAheadPerClient * Clients, $"the server read {readAhead} bytes more than its {Clients} clients received: no back-pressure");
    }

    // Reads at BytesPerSecond until the duration is over, then drops the download; returns the bytes received.
    private static async Task<long> ReadSlowlyAsync(HttpClient client, TimeSpan duration)
    {
        using var response = await client.GetAsync(new Uri($"/layers/{LayerId}/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        await using var body = await response.Content.ReadAsStreamAsync();
        var buffer = new byte[ReadSize];
        var clock = Stopwatch.StartNew();
        long received = 0;
        while (clock.Elapsed < duration)
        {
            received += await body.ReadAsync(buffer);

            // Pacing, not a timing assertion: the next read waits until the rate allows it.
            var due = TimeSpan.FromSeconds((double)received / BytesPerSecond);
            if (due > clock.Elapsed)
            {
                await Task.Delay(due - clock.Elapsed);
            }
        }

        return received;
    }
}
