using System.Diagnostics;
using Xunit.Sdk;

namespace LayerExport.TestSupport;

/// <summary>Runs the command-line tools the tests need (dotnet, setpriv, GNU tar, gzip, zstd, curl, docker-registry).</summary>
/// <remarks>./test.sh installs them; a missing tool fails the test that needs it, with a message saying so.</remarks>
public static class ExternalTool
{
    private static readonly TimeSpan Deadline = TimeSpan.FromMinutes(3);

    /// <summary>The tool's full path; fails the test when it is not on PATH.</summary>
    public static string Require(string name)
    {
        var path = Environment.GetEnvironmentVariable("PATH") ?? "";
        foreach (var directory in path.Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(directory, name);
            if (File.Exists(candidate))
            {
                return candidate;
            }
        }

        throw new XunitException($"This test needs '{name}', which is not on PATH ({path}). ./test.sh installs it; run that, or install it yourself.");
    }

    /// <summary>Runs the tool to completion (its standard input is this process's) and returns its exit code and output.</summary>
    public static Task<ToolResult> RunAsync(string name, params string[] arguments) => RunToolAsync(name, arguments, stdin: null);

    /// <summary>Runs the tool with <paramref name="stdin"/> copied into its standard input; returns its exit code and output.</summary>
    /// <param name="name">The tool.</param>
    /// <param name="arguments">Its arguments.</param>
    /// <param name="stdin">Writes the tool's input, then returns; the input is closed after it.</param>
    public static Task<ToolResult> RunAsync(string name, IEnumerable<string> arguments, Func<Stream, Task> stdin) => RunToolAsync(name, arguments, stdin);

    private static async Task<ToolResult> RunToolAsync(string name, IEnumerable<string> arguments, Func<Stream, Task>? stdin)
    {
        var start = new ProcessStartInfo(Require(name))
        {
            RedirectStandardInput = stdin is not null,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new XunitException($"Could not start {name}.");
        using var deadline = new CancellationTokenSource(Deadline);
        var stdout = new MemoryStream();
        var copy = process.StandardOutput.BaseStream.CopyToAsync(stdout, deadline.Token);
        var stderr = process.StandardError.ReadToEndAsync(deadline.Token);
        try
        {
            if (stdin is not null)
            {
                await WriteInputAsync(process, stdin);
            }

            await process.WaitForExitAsync(deadline.Token);
            await copy;
            return new ToolResult(process.ExitCode, stdout.ToArray(), await stderr);
        }
        catch (OperationCanceledException)
        {
            process.Kill();
            throw new XunitException($"{name} {string.Join(' ', arguments)} did not finish within {Deadline}.");
        }
    }

    private static async Task WriteInputAsync(Process process, Func<Stream, Task> stdin)
    {
        try
        {
            await stdin(process.StandardInput.BaseStream);
        }
        catch (IOException)
        {
            // The tool stopped reading (it found the input bad and exited); its exit code says why.
        }
        finally
        {
            try
            {
                process.StandardInput.Close();
            }
            catch (IOException)
            {
                // Same: the pipe's reader is gone.
            }
        }
    }
}
