using System.ComponentModel;
using System.Diagnostics;
using System.Text;

namespace LayerExport.Core.Tests.Support;

/// <summary>Runs a command-line tool to completion and captures what it printed.</summary>
internal static class ExternalTool
{
    // The same safety net as TestSupport's ExternalTool: a hung tool fails its test instead of hanging the run.
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    /// <summary>Runs <paramref name="fileName"/>; fails the test if it cannot be started or exits non-zero.</summary>
    public static async Task<ToolResult> RunCheckedAsync(string fileName, params string[] arguments)
    {
        var result = await RunAsync(fileName, arguments);
        Assert.True(
            result.ExitCode == 0,
            $"{result.CommandLine} exited with {result.ExitCode}.\nstderr:\n{result.Stderr}\nstdout:\n{result.StdoutText}");
        return result;
    }

    /// <summary>Runs <paramref name="fileName"/> with no input; the caller judges the exit code.</summary>
    public static Task<ToolResult> RunAsync(string fileName, params string[] arguments) => RunAsync(fileName, [], arguments);

    /// <summary>Runs <paramref name="fileName"/> with <paramref name="input"/> on stdin; the caller judges the exit code.</summary>
    public static async Task<ToolResult> RunAsync(string fileName, byte[] input, params string[] arguments)
    {
        var start = new ProcessStartInfo(fileName)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
            UseShellExecute = false,
            StandardErrorEncoding = Encoding.UTF8,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Tools print names and messages the same way whatever the machine's locale.
        start.Environment["LC_ALL"] = "C.UTF-8";
        var commandLine = string.Join(' ', [fileName, .. arguments]);

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{fileName} did not start");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                $"Cannot run '{commandLine}': {e.Message}. The tests need GNU tar, bsdtar, python3 and attr; ./test.sh installs them.",
                e);
        }

        using (process)
        {
            using var deadline = new CancellationTokenSource(Deadline);

            // Killing the whole tree closes every copy of the pipes, so each wait below ends whether or not reads can be cancelled.
            var killAtDeadline = deadline.Token.Register(() => KillTree(process));
            using var stdout = new MemoryStream();
            var stdoutCopy = process.StandardOutput.BaseStream.CopyToAsync(stdout);
            var stderrRead = process.StandardError.ReadToEndAsync();
            try
            {
                await process.StandardInput.BaseStream.WriteAsync(input);
                process.StandardInput.Close();
                await Task.WhenAll(stdoutCopy, stderrRead);
                await process.WaitForExitAsync();
            }
            catch (IOException) when (deadline.IsCancellationRequested)
            {
                // The kill broke the input pipe; the deadline is the failure to report.
            }

            // Unregistering fails only once the kill has run, which tells a timed-out tool from one that ended just in time.
            if (!killAtDeadline.Unregister())
            {
                await process.WaitForExitAsync();
                Assert.Fail($"{commandLine} did not finish within {Deadline}; it and its child processes were killed.");
            }

            return new ToolResult(commandLine, process.ExitCode, stdout.ToArray(), await stderrRead);
        }
    }

    private static void KillTree(Process process)
    {
        try
        {
            process.Kill(entireProcessTree: true);
        }
        catch (Exception e) when (e is InvalidOperationException or Win32Exception)
        {
            // It exited as the deadline passed; a throw here would be unhandled on the timer's thread.
        }
    }
}
