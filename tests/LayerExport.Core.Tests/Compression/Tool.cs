using System.Diagnostics;

namespace LayerExport.Core.Tests.Compression;

/// <summary>Runs an external program with bytes on stdin and returns its exit code and stdout.</summary>
internal static class Tool
{
    public static async Task<(int ExitCode, byte[] Output, string Error)> RunAsync(string program, byte[] input, params string[] arguments)
    {
        var start = new ProcessStartInfo(program)
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        using var process = Process.Start(start) ?? throw new InvalidOperationException($"could not start {program}; ./test.sh installs it");
        var output = new MemoryStream();
        var reading = process.StandardOutput.BaseStream.CopyToAsync(output);
        var error = process.StandardError.ReadToEndAsync();
        await process.StandardInput.BaseStream.WriteAsync(input);
        process.StandardInput.Close();
        await reading;
        await process.WaitForExitAsync();
        return (process.ExitCode, output.ToArray(), await error);
    }
}
