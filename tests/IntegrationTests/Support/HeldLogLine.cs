using Serilog.Core;
using Serilog.Events;

namespace IntegrationTests.Support;

/// <summary>
/// A Serilog sink that stops the first thread to log an event <paramref name="match"/> accepts until the test calls
/// <see cref="Release"/>: a server held in the work it does after a response body, where it logs the export's line.
/// </summary>
internal sealed class HeldLogLine(Func<LogEvent, bool> match) : ILogEventSink
{
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _reached = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public void Emit(LogEvent logEvent)
    {
        if (!match(logEvent) || !_reached.TrySetResult())
        {
            return;
        }

        // A test that failed before releasing must not leave the server's stop waiting for ever.
        _released.Task.Wait(CapturedLogs.SafetyTimeout);
    }

    /// <summary>Waits until a thread is held at the line.</summary>
    public Task WaitUntilHeldAsync() => _reached.Task.WaitAsync(CapturedLogs.SafetyTimeout);

    /// <summary>Lets the held thread, and every later one, log on.</summary>
    public void Release() => _released.TrySetResult();
}
