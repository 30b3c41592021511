using System.ComponentModel;
using System.Diagnostics;
using System.Text.Json;
using System.Text.Json.Serialization;
using LayerExport.Core.Tar;
using LayerExport.Core.Tests.Windows;

namespace LayerExport.Core.Tests.Tar;

/// <summary>Builds tests/golden/gotar once per test class and runs it: Go's archive/tar as the reference writer.</summary>
public sealed class GoTarFixture : IDisposable
{
    private static readonly JsonSerializerOptions JsonOptions = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.CamelCase,
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingDefault,
    };

    private static readonly TimeSpan ProcessLimit = TimeSpan.FromMinutes(3);

    private readonly string _directory;

    public GoTarFixture()
    {
        _directory = Directory.CreateTempSubdirectory("layerexport-gotar-").FullName;
        ExecutablePath = Path.Combine(_directory, "gotar");
        var source = Path.Combine(RepositoryRoot(), "tests", "golden", "gotar");
        string[] files = [.. Directory.GetFiles(source, "*.go").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        var build = Execute("go", ["build", "-o", ExecutablePath, .. files], source, []).GetAwaiter().GetResult();
        if (build.ExitCode != 0)
        {
            throw new InvalidOperationException($"go build of {source} failed (exit {build.ExitCode}):\n{build.Error}");
        }
    }

    /// <summary>The built reference program.</summary>
    public string ExecutablePath { get; }

    /// <summary>Has Go write <paramref name="entries"/> as a tar; returns its exit code, stdout bytes and stderr.</summary>
    public Task<GoTarResult> WriteAsync(IReadOnlyList<GoldenEntry> entries)
    {
        var specs = entries.Select(ToSpec).ToList();
        var input = JsonSerializer.SerializeToUtf8Bytes(specs, JsonOptions);
        return Execute(ExecutablePath, [], _directory, input);
    }

    /// <summary>Has Go's archive/tar read <paramref name="tar"/> to the end, data included; a non-zero exit code is its error.</summary>
    public Task<GoTarResult> ReadAsync(byte[] tar) => Execute(ExecutablePath, ["read"], _directory, tar);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    private static GoTarEntrySpec ToSpec(GoldenEntry entry)
    {
        var h = entry.Header;
        return new GoTarEntrySpec(
            h.Name,
            ((char)(byte)h.Type).ToString(),
            h.Mode,
            h.Uid,
            h.Gid,
            h.Size,
            h.ModificationTime,
            h.LinkName,
            h.DeviceMajor,
            h.DeviceMinor,
            [.. h.Xattrs.Select(x => new GoTarXattrSpec(x.Name, x.Value))],
            entry.Data,
            entry.Whiteout,
            entry.HeaderOnly,
            h.ModificationTimeNanoseconds,
            Time(h.AccessTime),
            Time(h.ChangeTime),
            [.. h.PaxRecords.Select(r => new GoTarXattrSpec(r.Key, r.Value))],
            entry.Windows);
    }

    private static GoTarTimeSpec? Time(PaxTime? time) => time is { } t ? new GoTarTimeSpec(t.Seconds, t.Nanoseconds) : null;

    private static async Task<GoTarResult> Execute(string program, IReadOnlyList<string> arguments, string workingDirectory, byte[] input)
    {
        var start = new ProcessStartInfo(program)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        // Go needs a writable build cache; HOME may be unset or read-only where tests run.
        if (string.IsNullOrEmpty(Environment.GetEnvironmentVariable("GOCACHE")))
        {
            start.Environment["GOCACHE"] = Path.Combine(Path.GetTempPath(), "layerexport-gocache");
        }

        start.Environment["CGO_ENABLED"] = "0";

        Process process;
        try
        {
            process = Process.Start(start) ?? throw new InvalidOperationException($"{program} did not start");
        }
        catch (Win32Exception e)
        {
            throw new InvalidOperationException(
                $"Cannot run '{program}': {e.Message}. The golden-bytes tests need Go (Debian's golang-go; ./test.sh installs it).", e);
        }

        using (process)
        using (var limit = new CancellationTokenSource(ProcessLimit))
        {
            var output = new MemoryStream();
            var copyOutput = process.StandardOutput.BaseStream.CopyToAsync(output, limit.Token);
            var readError = process.StandardError.ReadToEndAsync(limit.Token);
            await process.StandardInput.BaseStream.WriteAsync(input, limit.Token);
            process.StandardInput.Close();
            await process.WaitForExitAsync(limit.Token);
            await copyOutput;
            return new GoTarResult(process.ExitCode, output.ToArray(), await readError);
        }
    }

    private static string RepositoryRoot()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "LayerExport.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No LayerExport.sln above {AppContext.BaseDirectory}");
    }

    private sealed record GoTarXattrSpec(byte[] Name, byte[] Value);

    private sealed record GoTarTimeSpec(long Sec, long Nsec);

    private sealed record GoTarEntrySpec(
        byte[] Name,
        string Type,
        long Mode,
        long Uid,
        long Gid,
        long Size,
        long Mtime,
        byte[] Linkname,
        long Devmajor,
        long Devminor,
        IReadOnlyList<GoTarXattrSpec> Xattrs,
        byte[] Data,
        bool Whiteout,
        bool HeaderOnly,
        long MtimeNanos,
        GoTarTimeSpec? Atime,
        GoTarTimeSpec? Ctime,
        IReadOnlyList<GoTarXattrSpec> PaxRecords,
        WindowsEntrySpec? Windows);
}
