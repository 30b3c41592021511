using System.Diagnostics;

namespace TarEncoderComparison;

/// <summary>Times each writer encoding the whole entry set into <see cref="Stream.Null"/>.</summary>
internal static class Throughput
{
    private const int WarmUpRuns = 10;

    public static async Task<TimeSpan> MedianAsync(ITarEncoderUnderTest encoder, IReadOnlyList<BenchEntry> entries, int runs, CancellationToken cancellationToken)
    {
        // Untimed runs first, until tiered compilation has produced optimised code; otherwise the first
        // timed runs measure the JIT rather than the writer.
        for (var i = 0; i < WarmUpRuns; i++)
        {
            await encoder.WriteAsync(entries, Stream.Null, cancellationToken).ConfigureAwait(false);
        }

        var times = new List<TimeSpan>(runs);
        for (var i = 0; i < runs; i++)
        {
            GC.Collect();
            GC.WaitForPendingFinalizers();
            var clock = Stopwatch.StartNew();
            await encoder.WriteAsync(entries, Stream.Null, cancellationToken).ConfigureAwait(false);
            times.Add(clock.Elapsed);
        }

        times.Sort();
        return times[runs / 2];
    }
}
