using System.ComponentModel;
using System.Diagnostics;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>Runs a bash script in a directory and fails with its stderr when it fails.</summary>
internal static class Shell
{
    private static readonly TimeSpan Limit = TimeSpan.FromMinutes(3);

    public static async Task RunAsync(string script, string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in (string[])["-euo", "pipefail", "-c", script, "fixture", .. arguments])
        {
            start.ArgumentList.Add(argument);
        }

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException("bash did not start");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException($"Cannot run bash: {e.Message}", e);
        }

        using (process)
        using (var limit = new CancellationTokenSource(Limit))
        {
            var output = process.StandardOutput.ReadToEndAsync(limit.Token);
            var error = process.StandardError.ReadToEndAsync(limit.Token);
            await process.WaitForExitAsync(limit.Token);
            await output;
            if (process.ExitCode != 0)
            {
                throw new InvalidOperationException($"fixture script failed (exit {process.ExitCode}):\n{await error}\nscript:\n{script}");
            }
        }
    }
}
