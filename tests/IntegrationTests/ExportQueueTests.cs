using System.Net;
using IntegrationTests.Support;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Serilog.Events;
using static IntegrationTests.Support.HeldExportServer;

namespace IntegrationTests;

/// <summary>What becomes of a request waiting for an export slot: the client leaves, the queue is full, the server stops.</summary>
public sealed class ExportQueueTests : IAsyncLifetime
{
    private const string DescriptorPath = $"/layers/{Layer}/descriptor";

    private HeldExportServer? _held;

    private HeldExportServer Held => _held ?? throw new InvalidOperationException("not started");

    public Task InitializeAsync()
    {
        _held = HeldExportServer.Start(new Dictionary<string, string>
        {
            ["Limits:ConcurrentExports"] = "1",
            ["Limits:QueuedExports"] = "1",
            ["Limits:ShutdownTimeout"] = "00:00:20",
        });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_held is not null)
        {
            await _held.DisposeAsync();
        }
    }

    [Fact]
    public async Task AClientThatGivesUpWhileQueuedIsLoggedAs499()
    {
        using var client = Held.Server.CreateClient();
        var running = DownloadAsync(client, TarPath);
        await Held.Blocking.WaitUntilHeldAsync();
        using var giveUp = new CancellationTokenSource();
        var abandoned = DownloadAsync(client, DescriptorPath, giveUp.Token);
        WaitUntil(() => Held.Gate.Queued == 1, "the descriptor request is queued");

        await giveUp.CancelAsync();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => abandoned);
        var logged = await Held.Server.Logs.WaitForRequestLoggedAsync(DescriptorPath);

        Assert.Equal("499", CapturedLogs.Property(logged, "StatusCode"));
        Assert.Equal(LogEventLevel.Information, logged.Level);
        Assert.Null(logged.Exception);
        Held.Blocking.Release();
        Assert.Equal(HttpStatusCode.OK, (await running).Status);
    }

    [Fact]
    public async Task TheFullQueueProblemCountsItsExportsInGoodEnglish()
    {
        using var client = Held.Server.CreateClient();
        var running = DownloadAsync(client, TarPath);
        await Held.Blocking.WaitUntilHeldAsync();
        var queued = DownloadAsync(client, TarPath);
        WaitUntil(() => Held.Gate.Queued == 1, "the second export is queued");

        using var refused = await client.GetAsync(new Uri(TarPath, UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("1 export is running and 1 is waiting; try again later.", problem.GetProperty("detail").GetString());
        Held.Blocking.Release();
        Assert.All(await Task.WhenAll(running, queued), b => Assert.Equal(HttpStatusCode.OK, b.Status));
    }

    [Fact]
    public async Task TheFullQueueProblemCountsSeveralWaitingExportsInGoodEnglishToo()
    {
        await using var held = HeldExportServer.Start(new Dictionary<string, string>
        {
            ["Limits:ConcurrentExports"] = "1",
            ["Limits:QueuedExports"] = "2",
        });
        using var client = held.Server.CreateClient();
        var running = DownloadAsync(client, TarPath);
        await held.Blocking.WaitUntilHeldAsync();
        var queued = new[] { DownloadAsync(client, TarPath), DownloadAsync(client, TarPath) };
        WaitUntil(() => held.Gate.Queued == 2, "two exports are queued");

        using var refused = await client.GetAsync(new Uri(TarPath, UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(refused, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("1 export is running and 2 are waiting; try again later.", problem.GetProperty("detail").GetString());
        held.Blocking.Release();
        Assert.All(await Task.WhenAll([running, .. queued]), b => Assert.Equal(HttpStatusCode.OK, b.Status));
    }

    [Fact]
    public async Task ARequestWaitingForASlotWhenTheStopBeginsIsAServiceStoppingProblemAtOnce()
    {
        using var client = Held.Server.CreateClient();
        var running = DownloadAsync(client, TarPath);
        await Held.Blocking.WaitUntilHeldAsync();
        var queued = SendAsync(client, DescriptorPath);
        WaitUntil(() => Held.Gate.Queued == 1, "the descriptor request is queued");

        var stop = Held.Server.StopAsync();
        var first = await Task.WhenAny(queued, stop).WaitAsync(CapturedLogs.SafetyTimeout);

        Assert.True(first == queued, "the queued request got no answer before the stop ended");
        using var refused = await queued;
        await AssertServiceStoppingAsync(refused);
        Assert.False(stop.IsCompleted, "the stop did not wait for the running export");
        Assert.Equal(0, Held.Gate.Queued);
        Assert.Equal("503", CapturedLogs.Property(await Held.Server.Logs.WaitForRequestLoggedAsync(DescriptorPath), "StatusCode"));

        Held.Blocking.Release();
        Assert.Equal(HttpStatusCode.OK, (await running).Status);
        await stop.WaitAsync(CapturedLogs.SafetyTimeout);
    }

    [Fact]
    public async Task ARequestForASlotOnceTheStopHasBegunIsRefusedWithoutWaiting()
    {
        using var client = Held.Server.CreateClient();
        var running = DownloadAsync(client, TarPath);
        await Held.Blocking.WaitUntilHeldAsync();
        var stopSeen = new TaskCompletionSource<(Task<HttpResponseMessage> Request, bool AnsweredInTime)>(TaskCreationOptions.RunContinuationsAsynchronously);
        Held.Server.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() =>
        {
            // The stopping callbacks run before Kestrel closes its listeners: a request sent now arrives during the stop.
            var request = SendAsync(client, DescriptorPath);
            stopSeen.TrySetResult((request, request.Wait(TimeSpan.FromSeconds(10))));
        });

        var stop = Held.Server.StopAsync();
        var (duringStop, answeredInTime) = await stopSeen.Task.WaitAsync(CapturedLogs.SafetyTimeout);

        Assert.True(answeredInTime, "the request sent during the stop waited for a slot");
        using var refused = await duringStop;
        await AssertServiceStoppingAsync(refused);
        Held.Blocking.Release();
        Assert.Equal(HttpStatusCode.OK, (await running).Status);
        await stop.WaitAsync(CapturedLogs.SafetyTimeout);
    }

    private static async Task AssertServiceStoppingAsync(HttpResponseMessage response)
    {
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:service-stopping", problem.GetProperty("type").GetString());
        Assert.Equal("Service stopping", problem.GetProperty("title").GetString());
    }

    private static Task<HttpResponseMessage> SendAsync(HttpClient client, string path) =>
        client.GetAsync(new Uri(path, UriKind.Relative));
}
