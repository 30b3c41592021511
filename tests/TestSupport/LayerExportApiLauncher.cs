using System.Text.RegularExpressions;
using Xunit;

namespace LayerExport.TestSupport;

/// <summary>Starts the built LayerExportApi.dll in its own process: <c>dotnet LayerExportApi.dll --urls http://127.0.0.1:0</c>.</summary>
/// <remarks>
/// Port 0 lets the kernel pick a free loopback port, so no free-port guess can race another test; the bound address
/// comes from the "Now listening on" log line.
/// </remarks>
public static partial class LayerExportApiLauncher
{
    private static readonly TimeSpan StartDeadline = TimeSpan.FromSeconds(60);

    /// <summary>Starts the server and waits until it listens; fails the test if it exits or has not listened within a minute.</summary>
    /// <param name="environment">The server's configuration and other environment variables.</param>
    /// <param name="launcher">
    /// A command that runs the command after it in the same process (e.g. <c>setpriv ... --</c>), found on PATH; empty
    /// to run dotnet directly. Either way the process's PID is the server's.
    /// </param>
    /// <returns>The running server (the caller disposes it, which kills it by its PID) and the address it listens on.</returns>
    public static async Task<(LoggedProcess Process, Uri BaseAddress)> StartAsync(IReadOnlyDictionary<string, string> environment, IReadOnlyList<string> launcher)
    {
        // The test's output directory holds the API's dll, runtimeconfig, deps and appsettings.json (the content root).
        var directory = AppContext.BaseDirectory;
        var dll = Path.Combine(directory, "LayerExportApi.dll");
        Assert.True(File.Exists(dll), $"{dll} is missing: the test project must reference src/LayerExportApi.");
        string[] server = [ExternalTool.Require("dotnet"), dll, "--urls", "http://127.0.0.1:0"];

        // The server is killed, not stopped, when the test ends: without the runtime's diagnostics IPC it leaves no
        // debugger pipes or diagnostics socket behind in /tmp.
        var settings = new Dictionary<string, string>(environment);
        settings.TryAdd("DOTNET_EnableDiagnostics", "0");
        var process = launcher.Count == 0
            ? LoggedProcess.Start(server[0], server[1..], directory, settings)
            : LoggedProcess.Start(ExternalTool.Require(launcher[0]), [.. launcher.Skip(1), .. server], directory, settings);
        try
        {
            var listening = await process.WaitForLineAsync(ListeningLine(), StartDeadline);
            return (process, new Uri(listening.Groups["address"].Value));
        }
        catch
        {
            process.Dispose();
            throw;
        }
    }

    [GeneratedRegex(@"Now listening on: (?<address>http://127\.0\.0\.1:\d+)")]
    private static partial Regex ListeningLine();
}
