using Serilog.Core;
using Serilog.Events;

namespace IntegrationTests.Support;

/// <summary>A Serilog sink that keeps every event of one host and lets a test await the event it expects.</summary>
internal sealed class CapturedLogs : ILogEventSink
{
    private readonly Lock _gate = new();
    private readonly List<LogEvent> _events = [];
    private readonly List<(Func<LogEvent, bool> Match, TaskCompletionSource<LogEvent> Done)> _waiters = [];

    /// <summary>How long a wait may take before the test fails; a safety net only, never a pacing delay.</summary>
    public static readonly TimeSpan SafetyTimeout = TimeSpan.FromSeconds(30);

    public IReadOnlyList<LogEvent> Events
    {
        get
        {
            lock (_gate)
            {
                return [.. _events];
            }
        }
    }

    public void Emit(LogEvent logEvent)
    {
        List<TaskCompletionSource<LogEvent>> completed = [];
        lock (_gate)
        {
            _events.Add(logEvent);
            _waiters.RemoveAll(waiter =>
            {
                if (!waiter.Match(logEvent))
                {
                    return false;
                }

                completed.Add(waiter.Done);
                return true;
            });
        }

        foreach (var done in completed)
        {
            done.TrySetResult(logEvent);
        }
    }

    /// <summary>The first event, logged already or later, that <paramref name="match"/> accepts.</summary>
    public async Task<LogEvent> WaitForAsync(Func<LogEvent, bool> match, string description)
    {
        var done = new TaskCompletionSource<LogEvent>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_gate)
        {
            var earlier = _events.FirstOrDefault(match);
            if (earlier is not null)
            {
                return earlier;
            }

            _waiters.Add((match, done));
        }

        try
        {
            return await done.Task.WaitAsync(SafetyTimeout);
        }
        catch (TimeoutException)
        {
            var seen = string.Join(Environment.NewLine, Events.Select(e => $"  {e.Level}: {e.RenderMessage()}"));
            throw new TimeoutException($"No log event '{description}' within {SafetyTimeout}. Events seen:{Environment.NewLine}{seen}");
        }
    }

    /// <summary>
    /// The export completion line of <paramref name="layerId"/>, asserted to be <paramref name="outcome"/>
    /// (<c>completed</c>, <c>cancelled</c> or <c>failed</c>); any other outcome fails at once.
    /// </summary>
    public async Task<LogEvent> WaitForExportOutcomeAsync(string layerId, string outcome)
    {
        var logged = await WaitForAsync(e => IsExportOutcome(e, layerId), $"export of {layerId} ended");
        Assert.True(
            logged.MessageTemplate.Text.Contains($" {outcome}", StringComparison.Ordinal),
            $"expected the export to be {outcome}, the server logged: {logged.RenderMessage()}{Environment.NewLine}{logged.Exception}");
        return logged;
    }

    /// <summary>The completion lines of the first <paramref name="count"/> exports of <paramref name="layerId"/>, once all are logged.</summary>
    public async Task<IReadOnlyList<LogEvent>> WaitForExportOutcomesAsync(string layerId, int count)
    {
        var seen = 0;
        await WaitForAsync(e => IsExportOutcome(e, layerId) && ++seen == count, $"{count} exports of {layerId} ended");
        return [.. Events.Where(e => IsExportOutcome(e, layerId)).Take(count)];
    }

    /// <summary>The request-logging line for <paramref name="path"/>, written once the endpoint has returned.</summary>
    public Task<LogEvent> WaitForRequestLoggedAsync(string path) =>
        WaitForAsync(e => Property(e, "RequestPath") == path && e.Properties.ContainsKey("StatusCode"), $"request {path} logged");

    public static string? Property(LogEvent logEvent, string name) =>
        logEvent.Properties.TryGetValue(name, out var value) && value is ScalarValue { Value: var scalar } ? scalar?.ToString() : null;

    private static bool IsExportOutcome(LogEvent logEvent, string layerId) =>
        logEvent.MessageTemplate.Text.StartsWith("Export of layer", StringComparison.Ordinal) && Property(logEvent, "LayerId") == layerId;
}
