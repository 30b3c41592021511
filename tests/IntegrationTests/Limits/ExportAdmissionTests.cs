using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using LayerExport.Core.Compression;
using LayerExportApi.Layers;
using IntegrationTests.Support;
using LayerExportApi.Limits;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IntegrationTests.Limits;

/// <summary>The export admission alone, where the order of a slot coming free and a stop beginning can be chosen.</summary>
public sealed class ExportAdmissionTests
{
    [Fact]
    public async Task ASlotThatComesFreeAsTheStopBeginsStartsNoExport()
    {
        // An export begun once the stop has started would only be cut at the shutdown timeout.
        using var one = new OneSlot();
        var (gate, lifetime, admission) = (one.Gate, one.Lifetime, one.Admission);
        var context = one.NewRequest();
        var running = await gate.EnterAsync(CancellationToken.None);
        Assert.True(running.IsAcquired);

        // The queued request's continuation waits in this context until the slot is free and the stop has begun.
        var held = new HeldContinuations();
        var queued = held.Run(() => admission.EnterAsync(context, LayerCompression.None, static _ => ValueTask.CompletedTask, CancellationToken.None));
        Assert.Equal(1, gate.Queued);
        running.Dispose();
        await lifetime.StopAsync();
        held.RunUntilCompleted(queued);
        var refused = await queued;

        Assert.Equal(
            (StatusCodes.Status503ServiceUnavailable, "urn:layer-export:problem:service-stopping"),
            (refused?.StatusCode, refused?.ProblemDetails.Type));
        Assert.Null(context.Features.Get<ExportSlot>());
        Assert.Equal(1, gate.Available);
    }

    [Fact]
    public async Task TheStoreIsAskedForItsVerdictOnlyWhenNoSlotIsFreeAndARefusalQueuesNothing()
    {
        using var one = new OneSlot();
        var asked = 0;

        // A free slot costs the download no look at the store beyond its own; a taken one asks before the queue.
        var admitted = await one.Admission.EnterAsync(one.NewRequest(), LayerCompression.None, _ => { asked++; return ValueTask.CompletedTask; }, CancellationToken.None);
        var refusal = await Assert.ThrowsAsync<InvalidOperationException>(() => one.Admission.EnterAsync(
            one.NewRequest(), LayerCompression.None, _ => throw new InvalidOperationException("refused"), CancellationToken.None));

        Assert.Null(admitted);
        Assert.Equal(0, asked);
        Assert.Equal("refused", refusal.Message);
        Assert.Equal(0, one.Gate.Queued);
        Assert.Equal(0, one.Gate.Available);
    }

    [Fact]
    public async Task NoMoreRequestsAskTheStoreAtOnceThanThereAreSlotsSoAHungStoreHoldsNoMoreThreads()
    {
        using var one = new OneSlot();
        using var answer = new ManualResetEventSlim();
        using var asking = new SemaphoreSlim(0);
        var running = await one.Gate.EnterAsync(CancellationToken.None);

        // The first to find no slot free asks the store, which does not answer: a hung file system.
        var hung = Task.Run(() => one.Admission.EnterAsync(one.NewRequest(), LayerCompression.None, _ =>
        {
            asking.Release();
            Assert.True(answer.Wait(CapturedLogs.SafetyTimeout, CancellationToken.None), "the test never let the store answer");
            return ValueTask.CompletedTask;
        }, CancellationToken.None));
        Assert.True(await asking.WaitAsync(CapturedLogs.SafetyTimeout), "the store was never asked");

        var asked = 0;
        var nextRequest = one.NewRequest();
        var next = one.Admission.EnterAsync(nextRequest, LayerCompression.None, _ => { asked++; return ValueTask.CompletedTask; }, CancellationToken.None);
        Assert.Equal(1, one.Gate.Queued);
        running.Dispose();

        Assert.Null(await next);
        Assert.Equal(0, asked);
        answer.Set();
        nextRequest.Features.Get<ExportSlot>()?.Dispose();
        Assert.Null(await hung);
    }

    // Each request that asked gives its place among the askers back, a refused one too: the next is asked again.
    [Fact]
    public async Task ARequestTheStoreRefusedLeavesTheNextToFindNoSlotFreeAskingIt()
    {
        using var one = new OneSlot();
        var running = await one.Gate.EnterAsync(CancellationToken.None);
        await Assert.ThrowsAsync<InvalidOperationException>(() => one.Admission.EnterAsync(
            one.NewRequest(), LayerCompression.None, _ => throw new InvalidOperationException("refused"), CancellationToken.None));

        var asked = 0;
        var nextRequest = one.NewRequest();
        var next = one.Admission.EnterAsync(nextRequest, LayerCompression.None, _ => { asked++; return ValueTask.CompletedTask; }, CancellationToken.None);
        Assert.Equal(1, asked);
        running.Dispose();

        Assert.Null(await next);
        nextRequest.Features.Get<ExportSlot>()?.Dispose();
    }

    // Once the stop has begun, a request finding no slot free is told so at once: the store, which may hang, is not
    // asked first, and a full queue is not its answer.
    [Fact]
    public async Task OnceTheStopHasBegunARequestFindingTheQueueFullIsToldTheServiceStopsWithoutAskingTheStore()
    {
        using var one = new OneSlot();
        var running = await one.Gate.EnterAsync(CancellationToken.None);
        var queued = one.Gate.EnterAsync(CancellationToken.None);
        Assert.Equal(1, one.Gate.Queued);
        await one.Lifetime.StopAsync();
        var asked = 0;

        var refused = await one.Admission.EnterAsync(one.NewRequest(), LayerCompression.None, _ => { asked++; return ValueTask.CompletedTask; }, CancellationToken.None);

        Assert.Equal(
            (StatusCodes.Status503ServiceUnavailable, "urn:layer-export:problem:service-stopping"),
            (refused?.StatusCode, refused?.ProblemDetails.Type));
        Assert.Equal(0, asked);
        running.Dispose();
        (await queued).Dispose();
    }

    // One export slot and one queue place, admitted by a lifetime the test stops.
    private sealed class OneSlot : IDisposable
    {
        private readonly ServiceProvider _services = new ServiceCollection().AddLogging().AddMetrics().BuildServiceProvider();

        public OneSlot()
        {
            var limits = Options.Create(new LimitsOptions { ConcurrentExports = 1, QueuedExports = 1 });
            Gate = new ExportGate(limits);
            Admission = new ExportAdmission(Gate, new ExportMetrics(_services.GetRequiredService<IMeterFactory>(), Gate), limits, Lifetime);
        }

        public ExportGate Gate { get; }

        public StoppableLifetime Lifetime { get; } = new();

        public ExportAdmission Admission { get; }

        public DefaultHttpContext NewRequest() => new() { RequestServices = _services };

        public void Dispose()
        {
            Gate.Dispose();
            Lifetime.Dispose();
            _services.Dispose();
        }
    }

    // Keeps what is posted to it until the test runs it, on the test's thread.
    private sealed class HeldContinuations : SynchronizationContext
    {
        private readonly ConcurrentQueue<(SendOrPostCallback Callback, object? State)> _posted = new();

        public override void Post(SendOrPostCallback d, object? state) => _posted.Enqueue((d, state));

        public Task<T> Run<T>(Func<Task<T>> start)
        {
            var previous = Current;
            SetSynchronizationContext(this);
            try
            {
                return start();
            }
            finally
            {
                SetSynchronizationContext(previous);
            }
        }

        public void RunUntilCompleted(Task task)
        {
            while (!task.IsCompleted)
            {
                Assert.True(_posted.TryDequeue(out var posted), "the task waits for something that was never posted");
                Run(() =>
                {
                    posted.Callback(posted.State);
                    return Task.FromResult(0);
                });
            }
        }
    }
}
