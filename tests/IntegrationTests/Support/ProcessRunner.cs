using System.ComponentModel;
using System.Diagnostics;
using Xunit.Sdk;

namespace IntegrationTests.Support;

/// <summary>Runs an external program to completion and captures what it printed.</summary>
internal static class ProcessRunner
{
    /// <summary>Exit code, standard output and standard error of one run.</summary>
    public sealed record Result(int ExitCode, string StandardOutput, string StandardError)
    {
        public string Describe() => $"exit code {ExitCode}{Environment.NewLine}stdout:{Environment.NewLine}{StandardOutput}{Environment.NewLine}stderr:{Environment.NewLine}{StandardError}";
    }

    /// <summary>Runs <paramref name="fileName"/>; a program that is not installed fails the test with a clear message.</summary>
    public static async Task<Result> RunAsync(string fileName, IEnumerable<string> arguments, string? workingDirectory = null, TimeSpan? timeout = null)
    {
        var startInfo = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = workingDirectory ?? Environment.CurrentDirectory,
        };

        // Tests read the tools' messages (GNU tar's "** Block of NULs **"), so they must not be translated.
        startInfo.Environment["LC_ALL"] = "C";
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        using var process = Start(startInfo);
        var standardOutput = process.StandardOutput.ReadToEndAsync();
        var standardError = process.StandardError.ReadToEndAsync();
        await WaitForExitOrKillAsync(process, timeout ?? CapturedLogs.SafetyTimeout);
        return new Result(process.ExitCode, await standardOutput, await standardError);
    }

    /// <summary>Starts a process, turning "no such program" into a test failure that names the program.</summary>
    public static Process Start(ProcessStartInfo startInfo)
    {
        try
        {
            return Process.Start(startInfo) ?? throw new XunitException($"Could not start '{startInfo.FileName}'.");
        }
        catch (Win32Exception e)
        {
            throw new XunitException($"'{startInfo.FileName}' is required by this test and could not be run ({e.Message}); ./test.sh installs it.");
        }
    }

    /// <summary>Waits for exit; past <paramref name="timeout"/> (a safety net) kills the process by its PID and fails.</summary>
    public static async Task WaitForExitOrKillAsync(Process process, TimeSpan timeout)
    {
        using var deadline = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
            throw new XunitException($"'{process.StartInfo.FileName}' (PID {process.Id}) did not exit within {timeout}; killed.");
        }
    }
}
