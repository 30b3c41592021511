using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using LayerExport.TestSupport;

namespace IntegrationTests.Support;

/// <summary>The built server (<c>dotnet LayerExportApi.dll</c>) as a child process, killed by its PID when disposed.</summary>
internal sealed partial class ServerProcess : IAsyncDisposable
{
    private readonly Process _process;
    private readonly StringBuilder _output = new();
    private readonly TaskCompletionSource<Uri> _listening = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _outputClosed = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _openStreams = 2;
    private volatile bool _readingOutput = true;

    private ServerProcess(Process process) => _process = process;

    public int Id => _process.Id;

    /// <summary>The server a wrapper (<see cref="StartUnder"/>) runs as its only child: a tracer killed leaves it running, so a test kills it too.</summary>
    public Process WrappedServer() =>
        Process.GetProcessById(int.Parse(File.ReadAllText($"/proc/{Id}/task/{Id}/children").Trim(), CultureInfo.InvariantCulture));

    /// <summary>A wrapper for <see cref="StartUnder"/> that runs the server as nobody (65534), whom file modes bind as they do not bind root.</summary>
    public static string[] AsNobody => ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--"];

    /// <summary>Everything the process wrote to stdout and stderr so far.</summary>
    public string Output
    {
        get
        {
            lock (_output)
            {
                return _output.ToString();
            }
        }
    }

    /// <summary>
    /// Starts <c>dotnet LayerExportApi.dll</c> in <paramref name="contentRoot"/> with a clean environment for its
    /// settings: no inherited URLs, environment name or layer store settings, then <paramref name="environment"/>.
    /// </summary>
    public static ServerProcess Start(string contentRoot, IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        StartUnder([], contentRoot, environment, arguments);

    /// <summary>
    /// Like <see cref="Start"/>, but through <paramref name="wrapper"/> (a program and its arguments that runs the
    /// rest of its command line, such as <see cref="AsNobody"/>).
    /// </summary>
    public static ServerProcess StartUnder(string[] wrapper, string contentRoot, IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        StartBuild(AppContext.BaseDirectory, wrapper, contentRoot, environment, arguments);

    /// <summary>Like <see cref="Start"/>, but the server built into <paramref name="buildDirectory"/>, such as a copy of <see cref="AppContext.BaseDirectory"/>.</summary>
    public static ServerProcess StartCopy(string buildDirectory, string contentRoot, IReadOnlyDictionary<string, string> environment, params string[] arguments) =>
        StartBuild(buildDirectory, [], contentRoot, environment, arguments);

    /// <summary>Copies the built server, with every file next to it, into <paramref name="directory"/>, for <see cref="StartCopy"/>.</summary>
    public static void CopyBuild(string directory)
    {
        foreach (var file in Directory.EnumerateFiles(AppContext.BaseDirectory, "*", SearchOption.AllDirectories))
        {
            var copy = Path.Combine(directory, Path.GetRelativePath(AppContext.BaseDirectory, file));
            Directory.CreateDirectory(Path.GetDirectoryName(copy)!);
            File.Copy(file, copy);
        }
    }

    private static ServerProcess StartBuild(string buildDirectory, string[] wrapper, string contentRoot, IReadOnlyDictionary<string, string> environment, string[] arguments)
    {
        var startInfo = new ProcessStartInfo(wrapper.Length > 0 ? wrapper[0] : DotnetHost())
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
            WorkingDirectory = contentRoot,
        };
        foreach (var argument in wrapper.Skip(1))
        {
            startInfo.ArgumentList.Add(argument);
        }

        if (wrapper.Length > 0)
        {
            startInfo.ArgumentList.Add(DotnetHost());
        }

        startInfo.ArgumentList.Add(Path.Combine(buildDirectory, "LayerExportApi.dll"));
        foreach (var argument in arguments)
        {
            startInfo.ArgumentList.Add(argument);
        }

        foreach (var name in startInfo.Environment.Keys.ToList())
        {
            if (name.StartsWith("ASPNETCORE_", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("DOTNET_ENVIRONMENT", StringComparison.OrdinalIgnoreCase)
                || name.StartsWith("LayerStore", StringComparison.OrdinalIgnoreCase)
                || name.Equals("URLS", StringComparison.OrdinalIgnoreCase))
            {
                startInfo.Environment.Remove(name);
            }
        }

        // Killed, not stopped, when the test ends: without the runtime's diagnostics IPC it leaves no debugger pipes
        // or diagnostics socket behind in /tmp.
        startInfo.Environment["DOTNET_EnableDiagnostics"] = "0";
        startInfo.Environment["DigestCache__SettleTime"] = TestSettings.SettledAtOnce;
        foreach (var (name, value) in environment)
        {
            startInfo.Environment[name] = value;
        }

        var server = new ServerProcess(ProcessRunner.Start(startInfo));
        server.Attach();
        return server;
    }

    /// <summary>
    /// Runs the server with <paramref name="settings"/> and asserts that it exits with 1 and one "cannot start" line
    /// that holds <paramref name="message"/>, without a stack trace: every refusal at start-up says why in one line.
    /// </summary>
    /// <returns>Everything the server wrote.</returns>
    public static async Task<string> AssertStartUpFailureAsync(Dictionary<string, string> settings, string message, string urls = "http://127.0.0.1:0", string[]? wrapper = null)
    {
        await using var server = StartUnder(wrapper ?? [], AppContext.BaseDirectory, settings, "--urls", urls);

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 1, $"exit code {exitCode}:{Environment.NewLine}{server.Output}");
        var fatal = server.Output.Split('\n').Where(line => line.Contains("LayerExport cannot start: ", StringComparison.Ordinal));
        Assert.Contains(message, Assert.Single(fatal), StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", server.Output, StringComparison.Ordinal);
        return server.Output;
    }

    /// <summary>The address from the server's "Now listening on" line.</summary>
    public async Task<Uri> WaitUntilListeningAsync()
    {
        var exited = _process.WaitForExitAsync();
        var first = await Task.WhenAny(_listening.Task, exited).WaitAsync(CapturedLogs.SafetyTimeout);
        Assert.True(first == _listening.Task, $"the server exited with code {(_process.HasExited ? _process.ExitCode : -1)} before listening:{Environment.NewLine}{Output}");
        return await _listening.Task;
    }

    /// <summary>Waits, within a safety net, for the process to end on its own; returns its exit code.</summary>
    public async Task<int> WaitForExitAsync()
    {
        await ProcessRunner.WaitForExitOrKillAsync(_process, CapturedLogs.SafetyTimeout);
        await _outputClosed.Task.WaitAsync(CapturedLogs.SafetyTimeout);
        return _process.ExitCode;
    }

    /// <summary>Kills the server by its PID and waits until it is gone.</summary>
    public async Task KillAsync()
    {
        if (!_process.HasExited)
        {
            _process.Kill();
        }

        await _process.WaitForExitAsync().WaitAsync(CapturedLogs.SafetyTimeout);
    }

    public bool HasExited => _process.HasExited;

    /// <summary>Stops reading the process's stdout after its next line, so that it fills as a log pipe nobody drains would.</summary>
    public void StopReadingOutput() => _readingOutput = false;

    public async ValueTask DisposeAsync()
    {
        await KillAsync();
        _process.Dispose();
    }

    private static string DotnetHost() =>
        Environment.GetEnvironmentVariable("DOTNET_HOST_PATH") is { Length: > 0 } host ? host : "dotnet";

    private void Attach()
    {
        _process.ErrorDataReceived += (_, e) => OnLine(e.Data);
        _process.BeginErrorReadLine();

        // Not BeginOutputReadLine: its reads go on after CancelOutputRead, and a test must be able to stop them.
        _ = Task.Run(async () =>
        {
            string? line;
            do
            {
                line = await _process.StandardOutput.ReadLineAsync();
                OnLine(line);
            }
            while (line is not null && _readingOutput);
        });
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            if (Interlocked.Decrement(ref _openStreams) == 0)
            {
                _outputClosed.TrySetResult();
            }

            return;
        }

        lock (_output)
        {
            _output.AppendLine(line);
        }

        if (ListeningLine().Match(line) is { Success: true } match)
        {
            _listening.TrySetResult(new Uri(match.Groups["url"].Value));
        }
    }

    [GeneratedRegex(@"Now listening on: (?<url>https?://\S+)", RegexOptions.CultureInvariant)]
    private static partial Regex ListeningLine();
}
