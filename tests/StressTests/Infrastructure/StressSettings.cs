using System.Globalization;
using Xunit.Sdk;

namespace StressTests.Infrastructure;

/// <summary>The suite's counts, from environment variables; the defaults keep <c>./test.sh</c> short, <c>bench/stress.sh</c> sets the full ones.</summary>
internal static class StressSettings
{
    /// <summary>STRESS_SWAP_EXPORTS: exports run while the symlink swapper works (full run: 10,000).</summary>
    public static int SwapExports => Read("STRESS_SWAP_EXPORTS", 300);

    /// <summary>STRESS_FUZZ_REQUESTS: fuzzed requests (full run: 10,000).</summary>
    public static int FuzzRequests => Read("STRESS_FUZZ_REQUESTS", 1500);

    /// <summary>STRESS_FUZZ_SEED: the seed the fuzzed requests are derived from; the same seed gives the same requests.</summary>
    public static int FuzzSeed => Read("STRESS_FUZZ_SEED", 20261128);

    /// <summary>STRESS_ABORTS: downloads cut at random points (full run: 1,000).</summary>
    public static int Aborts => Read("STRESS_ABORTS", 100);

    /// <summary>STRESS_CONCURRENT_CLIENTS: clients downloading one layer at once (64 in both runs).</summary>
    public static int ConcurrentClients => Read("STRESS_CONCURRENT_CLIENTS", 64);

    /// <summary>STRESS_CONCURRENT_LAYER_MIB: size of the layer those clients download, in MiB (full run: 256).</summary>
    public static int ConcurrentLayerMiB => Read("STRESS_CONCURRENT_LAYER_MIB", 16);

    /// <summary>STRESS_SLOW_SECONDS: how long the slow clients read (full run: 60).</summary>
    public static int SlowSeconds => Read("STRESS_SLOW_SECONDS", 8);

    /// <summary>STRESS_FAULT_ROUNDS: exports per fault kind (full run: 20).</summary>
    public static int FaultRounds => Read("STRESS_FAULT_ROUNDS", 1);

    /// <summary>STRESS_FIGURES: a file the measured figures are appended to (bench/stress.sh prints it); unset, they go to the test output only.</summary>
    public static string? FiguresFile => Environment.GetEnvironmentVariable("STRESS_FIGURES") is { Length: > 0 } path ? path : null;

    private static int Read(string name, int defaultValue)
    {
        var text = Environment.GetEnvironmentVariable(name);
        if (string.IsNullOrEmpty(text))
        {
            return defaultValue;
        }

        return int.TryParse(text, NumberStyles.Integer, CultureInfo.InvariantCulture, out var value) && value > 0
            ? value
            : throw new XunitException($"{name}={text} is not a positive whole number.");
    }
}
