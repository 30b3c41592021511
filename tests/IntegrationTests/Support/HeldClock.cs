using System.Threading.Channels;

namespace IntegrationTests.Support;

/// <summary>The system clock, except that its timers fire only when the test says: a time limit that has run out, on demand.</summary>
internal sealed class HeldClock : TimeProvider
{
    private readonly List<HeldTimer> _timers = [];
    private readonly Channel<TimeSpan> _created = Channel.CreateUnbounded<TimeSpan>();

    public override ITimer CreateTimer(TimerCallback callback, object? state, TimeSpan dueTime, TimeSpan period)
    {
        var timer = new HeldTimer(callback, state);
        lock (_timers)
        {
            _timers.Add(timer);
        }

        _created.Writer.TryWrite(dueTime);
        return timer;
    }

    /// <summary>The due time of the next timer asked for (in the order they were), once it has been.</summary>
    public async Task<TimeSpan> NextTimerAsync()
    {
        using var patience = new CancellationTokenSource(CapturedLogs.SafetyTimeout);
        return await _created.Reader.ReadAsync(patience.Token);
    }

    public void FireTimers()
    {
        HeldTimer[] timers;
        lock (_timers)
        {
            timers = [.. _timers];
        }

        Assert.NotEmpty(timers);
        foreach (var timer in timers)
        {
            timer.Fire();
        }
    }

    private sealed class HeldTimer(TimerCallback callback, object? state) : ITimer
    {
        private bool _disposed;

        public void Fire()
        {
            if (!Volatile.Read(ref _disposed))
            {
                callback(state);
            }
        }

        public bool Change(TimeSpan dueTime, TimeSpan period) => !Volatile.Read(ref _disposed);

        public void Dispose() => Volatile.Write(ref _disposed, true);

        public ValueTask DisposeAsync()
        {
            Dispose();
            return ValueTask.CompletedTask;
        }
    }
}
