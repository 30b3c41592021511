using System.Diagnostics;
using System.Text.RegularExpressions;
using Xunit.Sdk;

namespace LayerExport.TestSupport;

/// <summary>A long-running child process whose output lines are kept, counted and waited for.</summary>
/// <remarks>Dispose kills exactly this process, by its PID, and waits for it to exit.</remarks>
public sealed class LoggedProcess : IDisposable
{
    private readonly Process _process;
    private readonly List<string> _lines = [];
    private readonly List<(Regex Pattern, TaskCompletionSource<Match> Found)> _waiters = [];
    private readonly TaskCompletionSource _exited = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private LoggedProcess(Process process)
    {
        _process = process;
    }

    public int Id => _process.Id;

    public bool HasExited => _exited.Task.IsCompleted;

    /// <summary>Everything the process printed so far, stdout and stderr interleaved.</summary>
    public string Output
    {
        get
        {
            lock (_lines)
            {
                return string.Join('\n', _lines);
            }
        }
    }

    public static LoggedProcess Start(string fileName, IEnumerable<string> arguments, string workingDirectory, IReadOnlyDictionary<string, string> environment)
    {
        var start = new ProcessStartInfo(fileName)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        foreach (var (name, value) in environment)
        {
            start.Environment[name] = value;
        }

        var process = new Process { StartInfo = start, EnableRaisingEvents = true };
        var logged = new LoggedProcess(process);
        process.OutputDataReceived += (_, e) => logged.OnLine(e.Data);
        process.ErrorDataReceived += (_, e) => logged.OnLine(e.Data);
        process.Exited += (_, _) => logged._exited.TrySetResult();
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return logged;
    }

    /// <summary>How many output lines so far match <paramref name="pattern"/>.</summary>
    public int CountLines(Regex pattern)
    {
        lock (_lines)
        {
            return _lines.Count(line => pattern.IsMatch(line));
        }
    }

    /// <summary>The output lines so far that match <paramref name="pattern"/>.</summary>
    public IReadOnlyList<string> Lines(Regex pattern)
    {
        lock (_lines)
        {
            return _lines.Where(line => pattern.IsMatch(line)).ToList();
        }
    }

    /// <summary>The first output line matching <paramref name="pattern"/>; fails if the process exits or the deadline passes first.</summary>
    public async Task<Match> WaitForLineAsync(Regex pattern, TimeSpan deadline)
    {
        var found = new TaskCompletionSource<Match>(TaskCreationOptions.RunContinuationsAsynchronously);
        lock (_lines)
        {
            foreach (var line in _lines)
            {
                if (pattern.Match(line) is { Success: true } match)
                {
                    return match;
                }
            }

            _waiters.Add((pattern, found));
        }

        try
        {
            await Task.WhenAny(found.Task, _exited.Task).WaitAsync(deadline);
        }
        catch (TimeoutException)
        {
            throw new XunitException($"{_process.StartInfo.FileName}: no output line matched /{pattern}/ within {deadline}. Output:\n{Output}");
        }

        if (found.Task.IsCompleted)
        {
            return await found.Task;
        }

        // Exited: WaitForExit also waits until the last output lines have been delivered.
        _process.WaitForExit();
        if (found.Task.IsCompleted)
        {
            return await found.Task;
        }

        throw new XunitException($"{_process.StartInfo.FileName} exited with code {_process.ExitCode} before printing a line matching /{pattern}/. Output:\n{Output}");
    }

    public void Dispose()
    {
        if (!_exited.Task.IsCompleted)
        {
            try
            {
                _process.Kill();
            }
            catch (InvalidOperationException)
            {
                // It exited between the check and the kill.
            }
        }

        _process.WaitForExit();
        _process.Dispose();
    }

    private void OnLine(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (_lines)
        {
            _lines.Add(line);
            for (var i = _waiters.Count - 1; i >= 0; i--)
            {
                if (_waiters[i].Pattern.Match(line) is { Success: true } match)
                {
                    _waiters[i].Found.TrySetResult(match);
                    _waiters.RemoveAt(i);
                }
            }
        }
    }
}
