using System.Diagnostics;

namespace StressTests.Infrastructure;

/// <summary>Polls an observation until it is settled or a deadline passes; what was seen last explains a failure.</summary>
internal static class Poll
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(100);

    /// <summary>Observes until <paramref name="settled"/> holds or <paramref name="deadline"/> passes.</summary>
    /// <returns>The last observation, whether it settled, and how long that took.</returns>
    public static async Task<(T Last, bool Settled, TimeSpan Elapsed)> UntilAsync<T>(Func<T> observe, Func<T, bool> settled, TimeSpan deadline)
    {
        var clock = Stopwatch.StartNew();
        while (true)
        {
            var last = observe();
            if (settled(last))
            {
                return (last, true, clock.Elapsed);
            }

            if (clock.Elapsed >= deadline)
            {
                return (last, false, clock.Elapsed);
            }

            await Task.Delay(Interval);
        }
    }
}
