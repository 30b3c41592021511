using System.Net;
using IntegrationTests.Support;
using LayerExport.Core.Store;
using Microsoft.Extensions.DependencyInjection;

namespace IntegrationTests;

/// <summary>A client that hangs up mid-stream stops the export and leaves no descriptor open.</summary>
[Collection(nameof(ProcessWideMeasurements))]
public sealed class ClientDisconnectTests : IDisposable
{
    private const long BlobSize = 64L * 1024 * 1024;
    private const int ClientReads = 1024 * 1024;

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("big")
        .AddPatternFile("big", "data/blob.bin", BlobSize);

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task HangingUpMidStreamCancelsTheExportAndClosesEveryDescriptor()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();

        // Open the store's root now so that it is part of the baseline, and let finalizers of earlier tests run.
        server.Services.GetRequiredService<ILayerStore>();
        GC.Collect();
        GC.WaitForPendingFinalizers();
        var descriptorsBefore = OpenFileDescriptors.Targets();
        var storeDescriptorsBefore = OpenFileDescriptors.Under(_store.Root);

        using (var response = await client.GetAsync(new Uri("/layers/big/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadAsStreamAsync();
            var buffer = new byte[ClientReads];
            await body.ReadExactlyAsync(buffer);

            // Mid-stream the export holds the file open: the descriptor check below can see a leak.
            Assert.Contains(OpenFileDescriptors.Under(_store.Root), target => target.EndsWith("/data/blob.bin", StringComparison.Ordinal));
        }

        var cancelled = await server.Logs.WaitForExportOutcomeAsync("big", "cancelled");
        await server.Logs.WaitForRequestLoggedAsync("/layers/big/tar");

        var sent = long.Parse(CapturedLogs.Property(cancelled, "Bytes")!, System.Globalization.CultureInfo.InvariantCulture);
        Assert.InRange(sent, ClientReads, BlobSize - 1);
        Assert.DoesNotContain(server.Logs.Events, e => e.MessageTemplate.Text.Contains("completed", StringComparison.Ordinal) || e.MessageTemplate.Text.Contains("failed", StringComparison.Ordinal));
        Assert.Equal(storeDescriptorsBefore, OpenFileDescriptors.Under(_store.Root));

        // Sockets close asynchronously after the request ends: wait until none opened since is left, with the timeout
        // as a safety net. Not the count: a descriptor of an earlier test's host may close meanwhile (seen in CI).
        var settled = SpinWait.SpinUntil(() => OpenFileDescriptors.Added(descriptorsBefore, OpenFileDescriptors.Targets()).Count == 0, CapturedLogs.SafetyTimeout);
        var after = OpenFileDescriptors.Targets();
        Assert.True(
            settled,
            $"{after.Count} descriptors open, {descriptorsBefore.Count} before the request; new: {string.Join(", ", OpenFileDescriptors.Added(descriptorsBefore, after))}");
    }

    [Fact]
    public async Task EveryHangUpIsLoggedAsCancelledNeverAsAFailure()
    {
        const int HangUps = 40;
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();

        for (var i = 0; i < HangUps; i++)
        {
            using var response = await client.GetAsync(new Uri("/layers/big/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var body = await response.Content.ReadAsStreamAsync();
            await body.ReadExactlyAsync(new byte[(i % 16 + 1) * 64 * 1024]);
        }

        var outcomes = await server.Logs.WaitForExportOutcomesAsync("big", HangUps);

        Assert.All(outcomes, e => Assert.True(
            e.Level == Serilog.Events.LogEventLevel.Information && e.MessageTemplate.Text.Contains(" cancelled", StringComparison.Ordinal),
            $"{e.Level}: {e.RenderMessage()}{Environment.NewLine}{e.Exception}"));
    }
}
