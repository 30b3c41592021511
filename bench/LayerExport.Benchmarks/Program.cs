using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;

namespace LayerExport.Benchmarks;

/// <summary>Runs the benchmarks chosen by the command line (e.g. <c>--filter '*'</c>) with a short in-process job.</summary>
public static class Program
{
    /// <summary>Entry point.</summary>
    public static void Main(string[] args)
    {
        // Short on purpose: the machine is shared, so a full run stays within a few minutes. In-process, so no
        // generated project is built (it would inherit the repository's warnings-as-errors build settings).
        var job = Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance);
        var config = DefaultConfig.Instance
            .AddJob(job.AsDefault())
            .AddDiagnoser(MemoryDiagnoser.Default);
        BenchmarkSwitcher.FromAssembly(typeof(Program).Assembly).Run(args, config);
    }
}
