using System.Net;
using System.Text.RegularExpressions;
using LayerExport.TestSupport;
using StressTests.Infrastructure;
using Xunit.Abstractions;

namespace StressTests;

/// <summary>A layer that changes or becomes unreadable in the middle of an export: every transfer fails (HttpClient sees a broken transfer, and GNU tar an incomplete archive), and the server logs an error.</summary>
/// <remarks>
/// The export is paused deterministically: the client reads in small pieces until 16 MiB of a 256 MiB file
/// (sparse) have arrived, so the server, held back by back-pressure, is inside that file; then the fault is
/// made and the client reads on (the layer is built so that the server's read-ahead cannot have passed the
/// fault's target by then). The body also goes into <c>tar -t -f -</c> as it arrives, a reader this project
/// did not write; how often it still accepts the bytes as an archive is reported. Permission faults need a server that permissions bind, so those
/// run the server as nobody (root ignores them).
/// </remarks>
public sealed class MidExportFaultTests(ITestOutputHelper output)
{
    private const long BigFileSize = 256L * 1024 * 1024;
    private const long PauseAt = 16L * 1024 * 1024;
    private const int FillerFiles = 80;
    private const int FillerFileSize = 200 * 1000;
    private static readonly TimeSpan LogDeadline = TimeSpan.FromSeconds(30);

    public static TheoryData<string> Faults => ["shrink", "grow", "unlink", "replace", "unreadable-open-file", "unreadable-file", "unreadable-directory"];

    [Theory]
    [MemberData(nameof(Faults))]
    public async Task AFaultInTheMiddleOfAnExportFailsTheTransferAndIsLogged(string fault)
    {
        var figures = new Figures(output, $"fault {fault}");
        var rounds = StressSettings.FaultRounds;
        var unprivileged = fault.StartsWith("unreadable", StringComparison.Ordinal);
        using var work = new TemporaryDirectory("stress-fault");
        NativeStoreBuilder.OpenToEveryone(work.Path);
        var store = new NativeStoreBuilder(work.Combine("store"));
        var layers = Enumerable.Range(0, rounds).Select(round => (Id: $"{fault}-{round}", Diff: BuildLayer(store, $"{fault}-{round}"))).ToList();
        using var server = await ServerProcess.StartAsync(store.Root, work.Combine("digests"), unprivileged);
        if (unprivileged)
        {
            var identity = server.ReadStatus();
            Assert.True(identity.Uids.All(static uid => uid == ServerProcess.UnprivilegedId), $"the server runs with user IDs {string.Join(' ', identity.Uids)}");
            Assert.True(Convert.ToUInt64(identity.EffectiveCapabilities, 16) == 0, $"the server kept capabilities {identity.EffectiveCapabilities}");
        }

        using var client = server.CreateClient();
        var outcomes = new List<FaultOutcome>();
        foreach (var (id, diff) in layers)
        {
            outcomes.Add(await ExportWithFaultAsync(server, client, id, () => Inject(fault, diff)));
        }

        figures.Report("transfers", $"{rounds}: {outcomes.Count(static o => o.HttpError is not null)} failed for HttpClient, {outcomes.Count(static o => o.TarExitCode != 0)} rejected by GNU tar, {outcomes.Count(static o => o.LoggedError is not null)} logged as errors");
        var first = outcomes[0];
        figures.Report("client saw", $"{first.HttpError} after {Figures.Megabytes(first.Received / 1024)}; tar: exit {first.TarExitCode}, {first.TarError}");
        figures.Report("server logged", $"{first.LoggedError}");
        foreach (var outcome in outcomes)
        {
            // Failed for the client twice over: the transfer broke (HttpClient throws), and what arrived is not a
            // whole archive to GNU tar, even when the fault was found between two entries (the server then ends
            // the body with a marker no tar reader accepts).
            Assert.Equal(HttpStatusCode.OK, outcome.Status);
            Assert.True(outcome.HttpError is not null, $"{outcome.LayerId}: the {outcome.Received} bytes sent after the fault arrived as a complete transfer");
            Assert.True(outcome.TarExitCode != 0, $"{outcome.LayerId}: GNU tar accepted the {outcome.Received} bytes of a failed export as a whole archive");
            Assert.True(outcome.LoggedError is not null, $"{outcome.LayerId}: the server logged no failed export. Output:\n{server.Output}");
        }
    }

    // a-first.txt, big.bin (the file read when the fault comes), k-filler/, then later/file.txt and z-later.txt.
    // The server reads small files ahead of the writer within a budget (1 MiB); 16 MB of small files between
    // big.bin and the permission faults' targets keep that read-ahead from having opened them before the fault.
    private static string BuildLayer(NativeStoreBuilder store, string id)
    {
        var diff = store.AddLayer(id);
        NativeStoreBuilder.WriteFile(diff, "a-first.txt", "first\n"u8.ToArray());
        NativeStoreBuilder.WriteSparseFile(diff, "big.bin", BigFileSize);
        for (var i = 0; i < FillerFiles; i++)
        {
            NativeStoreBuilder.WriteSparseFile(diff, $"k-filler/{i:D3}.bin", FillerFileSize);
        }

        NativeStoreBuilder.WriteFile(diff, "later/file.txt", "later\n"u8.ToArray());
        NativeStoreBuilder.WriteFile(diff, "z-later.txt", "last\n"u8.ToArray());
        NativeStoreBuilder.FixDirectoryTimes(diff);
        return diff;
    }

    private static void Inject(string fault, string diff)
    {
        var big = Path.Combine(diff, "big.bin");
        switch (fault)
        {
            case "shrink":
                Resize(big, BigFileSize / 2);
                break;
            case "grow":
                Resize(big, BigFileSize + (1024 * 1024));
                break;
            case "unlink":
                File.Delete(big);
                break;
            case "replace":
                // A different file of the same size and mtime, renamed over the one being read.
                var replacement = NativeStoreBuilder.WriteSparseFile(diff, "big.new", BigFileSize);
                Assert.True(Posix.TryRename(replacement, big, out var errno), $"rename failed: errno {errno}");
                break;
            case "unreadable-open-file":
                // The open descriptor still reads; the file's status changed under it (its ctime moved).
                File.SetUnixFileMode(big, UnixFileMode.None);
                break;
            case "unreadable-file":
                File.SetUnixFileMode(Path.Combine(diff, "z-later.txt"), UnixFileMode.None);
                break;
            case "unreadable-directory":
                File.SetUnixFileMode(Path.Combine(diff, "later"), UnixFileMode.None);
                break;
            default:
                throw new ArgumentOutOfRangeException(nameof(fault), fault, "unknown fault");
        }
    }

    private static void Resize(string path, long length)
    {
        using var file = new FileStream(path, FileMode.Open, FileAccess.Write);
        file.SetLength(length);
    }

    private static async Task<FaultOutcome> ExportWithFaultAsync(ServerProcess server, HttpClient client, string layerId, Action inject)
    {
        HttpStatusCode status = 0;
        long received = 0;
        string? httpError = null;
        var tar = await ExternalTool.RunAsync("tar", ["-t", "-f", "-"], async stdin =>
        {
            var judge = new TarInput(stdin);
            using var response = await client.GetAsync(new Uri($"/layers/{layerId}/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
            status = response.StatusCode;
            await using var body = await response.Content.ReadAsStreamAsync();
            try
            {
                // Small reads up to the pause point, so the server is held inside big.bin by back-pressure.
                var small = new byte[4096];
                while (received < PauseAt)
                {
                    var n = await body.ReadAsync(small);
                    if (n == 0)
                    {
                        break;
                    }

                    received += n;
                    await judge.WriteAsync(small.AsMemory(0, n));
                }

                inject();
                var large = new byte[256 * 1024];
                for (int n; (n = await body.ReadAsync(large)) > 0;)
                {
                    received += n;
                    await judge.WriteAsync(large.AsMemory(0, n));
                }
            }
            catch (Exception e) when (e is HttpRequestException or IOException)
            {
                httpError = $"{e.GetType().Name}: {e.Message}";
            }
        });

        string? logged = null;
        try
        {
            await server.WaitForLogLineAsync(FailedExport(layerId), LogDeadline);

            // The error line and the exception's first line under it: "<type>: <entry>: <reason>".
            var failed = new Regex(FailedExport(layerId) + @".*\n(?<exception>[^\n]+)").Match(server.Output);
            logged = $"{failed.Groups["entry"].Value}: {failed.Groups["exception"].Value}";
        }
        catch (Xunit.Sdk.XunitException)
        {
            // No such line: the assertion on LoggedError reports it.
        }

        return new FaultOutcome(layerId, status, received, httpError, tar.ExitCode, tar.Stderr.Trim(), logged);
    }

    private static Regex FailedExport(string layerId) =>
        new($@"\[\d\d:\d\d:\d\d ERR\] Export of layer {Regex.Escape(layerId)} \(None\) failed at entry (?<entry>\S+)");

    private sealed record FaultOutcome(string LayerId, HttpStatusCode Status, long Received, string? HttpError, int TarExitCode, string TarError, string? LoggedError);

    // Writes into tar's standard input; once tar has exited (it found the archive bad), the rest is dropped.
    private sealed class TarInput(Stream stdin)
    {
        private bool _closed;

        public async Task WriteAsync(ReadOnlyMemory<byte> bytes)
        {
            if (_closed)
            {
                return;
            }

            try
            {
                await stdin.WriteAsync(bytes);
            }
            catch (IOException)
            {
                _closed = true;
            }
        }
    }
}
