using System.Diagnostics;
using Xunit.Sdk;

namespace SidecarTests.Infrastructure;

/// <summary>Runs the command-line tools the tests use as independent judges (gzip, zstd, GNU tar, curl, docker-registry).</summary>
/// <remarks>./test.sh installs them; a missing tool fails the test that needs it, with a message saying so.</remarks>
internal static class ExternalTool
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

    /// <summary>Runs the tool to completion and returns its exit code, stdout bytes and stderr text.</summary>
    public static async Task<ToolResult> RunAsync(string name, params string[] arguments)
    {
        var start = new ProcessStartInfo(Require(name))
        {
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
}

/// <summary>What a tool run produced.</summary>
internal sealed record ToolResult(int ExitCode, byte[] Stdout, string Stderr)
{
    /// <summary>Fails the test unless the tool exited 0.</summary>
    public ToolResult EnsureSuccess(string what)
    {
        Assert.True(ExitCode == 0, $"{what}: exit code {ExitCode}, stderr: {Stderr}");
        return this;
    }
}
