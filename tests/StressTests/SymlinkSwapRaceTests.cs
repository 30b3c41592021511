using System.Formats.Tar;
using System.Net;
using System.Net.Http.Headers;
using System.Text.RegularExpressions;
using LayerExport.TestSupport;
using StressTests.Infrastructure;
using StressTests.Race;
using Xunit.Abstractions;

namespace StressTests;

/// <summary>While an attacker keeps swapping a file and directories of a layer for symlinks to a secret outside it, no export carries a byte of the secret.</summary>
/// <remarks>
/// Failed or aborted exports are allowed (the layer keeps changing under the reader); secret bytes are not. The
/// secret is random bytes of 0x80-0xFF and the layer holds ASCII only, so any such byte in any body is a leak.
/// A path-following reader beside the server is the control: it must catch the secret, or the attack was not live.
/// </remarks>
public sealed partial class SymlinkSwapRaceTests(ITestOutputHelper output)
{
    private const string LayerId = "race";
    private const int FileSize = 64 * 1024;
    private const int Clients = 4;

    [Fact]
    public async Task NoExportCarriesASecretByteWhileFilesAndDirectoriesAreSwappedForSymlinks()
    {
        var figures = new Figures(output, "symlink-swap");
        var attempts = StressSettings.SwapExports;
        using var work = new TemporaryDirectory("stress-swap");

        // The secret, outside the store: a file, and a directory laid out like swap-dir with files of the same names and sizes.
        var secretDirectory = Directory.CreateDirectory(work.Combine("secret")).FullName;
        var secretFile = Path.Combine(secretDirectory, "secret.bin");
        File.WriteAllBytes(secretFile, SecretBytes.Create(FileSize));
        File.WriteAllBytes(Path.Combine(secretDirectory, "inner.bin"), SecretBytes.Create(FileSize));
        Directory.CreateDirectory(Path.Combine(secretDirectory, "nested"));
        File.WriteAllBytes(Path.Combine(secretDirectory, "nested", "inner.bin"), SecretBytes.Create(FileSize));

        var store = new NativeStoreBuilder(work.Combine("store"));
        var diff = store.AddLayer(LayerId);
        NativeStoreBuilder.WriteFile(diff, "a-before.bin", Ascii('a', 256 * 1024));
        NativeStoreBuilder.WriteFile(diff, "swap-file", Ascii('f', FileSize));
        NativeStoreBuilder.WriteFile(diff, "swap-dir/inner.bin", Ascii('i', FileSize));
        NativeStoreBuilder.WriteFile(diff, "swap-dir/nested/inner.bin", Ascii('n', FileSize));
        NativeStoreBuilder.WriteFile(diff, "z-after.bin", Ascii('z', FileSize));
        var aside = Directory.CreateDirectory(Path.Combine(store.Root, LayerId, "aside")).FullName;

        using var server = await ServerProcess.StartAsync(store.Root, work.Combine("digests"));
        using var client = server.CreateClient(Clients);
        var clean = await client.GetByteArrayAsync(new Uri($"/layers/{LayerId}/tar", UriKind.Relative));
        Assert.False(SecretBytes.Contains(clean), "the export before the attack already holds non-ASCII bytes; the leak check would not work");
        Assert.Contains(("swap-file", TarEntryType.RegularFile), Entries(clean, clean.Length).Select(static e => (e.Name, e.Type)));

        var tally = new RaceTally();
        using (var swapper = new SymlinkSwapper(diff, aside, secretFile, secretDirectory))
        using (var control = new PathFollowingReader(Path.Combine(diff, "swap-file"), Path.Combine(diff, "swap-dir", "inner.bin"), Path.Combine(diff, "swap-dir", "nested", "inner.bin")))
        {
            swapper.Start();
            control.Start();
            await Parallel.ForAsync(0, attempts, new ParallelOptions { MaxDegreeOfParallelism = Clients }, async (i, _) => tally.Add(i, await ExportAsync(client, i)));
            figures.Report("swaps made", $"{swapper.Swaps} (failed system calls: {swapper.Failures})");
            figures.Report("control: path-following reads that got secret bytes", $"{control.SecretReads} of {control.Reads}");
            Assert.True(swapper.Failures == 0, $"the attacker's own system calls failed {swapper.Failures} times, last: {swapper.LastFailure}");
            Assert.True(control.SecretReads > 0, $"the path-following control never read the secret in {control.Reads} reads: the attack was not live");
        }

        figures.Report("exports", $"{attempts}: {tally.Complete} complete, {tally.Aborted} aborted mid-body, {tally.Refused} refused before the body ({tally.RefusedStatuses})");
        figures.Report("complete exports by state of swap-file", $"{tally.States}");
        figures.Report("exports holding secret bytes", $"{tally.Leaks}");
        Assert.True(tally.Leaks == 0, $"{tally.Leaks} exports held secret bytes; first: {tally.FirstLeak}");
    }

    private static async Task<RaceOutcome> ExportAsync(HttpClient client, int attempt)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, $"/layers/{LayerId}/tar");
        if (attempt % 5 == 4)
        {
            // Every fifth export is a range past the first header: the windowed writer reads the same files.
            request.Headers.Range = new RangeHeaderValue(512, null);
        }

        var body = new MemoryStream();
        HttpStatusCode status;
        var complete = false;
        try
        {
            using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            status = response.StatusCode;
            await (await response.Content.ReadAsStreamAsync()).CopyToAsync(body);
            complete = true;
        }
        catch (Exception e) when (e is HttpRequestException or IOException)
        {
            status = 0;
        }

        var bytes = body.GetBuffer().AsSpan(0, (int)body.Length);
        var state = !complete ? null
            : status == HttpStatusCode.OK ? StateOf(body.GetBuffer(), (int)body.Length)
            : status == HttpStatusCode.PartialContent ? null
            : ProblemType().Match(System.Text.Encoding.UTF8.GetString(bytes)).Groups["type"].Value;
        return new RaceOutcome(status, complete, SecretBytes.FirstIn(bytes), state);
    }

    private static string StateOf(byte[] tar, int length)
    {
        var entries = Entries(tar, length);
        var leaking = entries.Where(static e => e.HoldsSecret).Select(static e => e.Name).ToList();
        var file = entries.Where(static e => e.Name == "swap-file").Select(static e => (TarEntryType?)e.Type).FirstOrDefault();
        var directory = entries.Where(static e => e.Name is "swap-dir" or "swap-dir/").Select(static e => (TarEntryType?)e.Type).FirstOrDefault();
        var state = $"file {Describe(file)}, dir {Describe(directory)}";
        return leaking.Count == 0 ? state : $"{state}, secret bytes in {string.Join(", ", leaking)}";
    }

    /// <summary>The entries of a complete tar as System.Formats.Tar reads it, each entry's data read to its end.</summary>
    /// <remarks>Every data stream is read to its end because a seekable archive otherwise lets TarReader skip past a body that stops inside an entry.</remarks>
    private static List<(string Name, TarEntryType Type, bool HoldsSecret)> Entries(byte[] tar, int length)
    {
        using var reader = new TarReader(new MemoryStream(tar, 0, length, writable: false));
        var entries = new List<(string, TarEntryType, bool)>();
        while (reader.GetNextEntry() is { } entry)
        {
            var data = new MemoryStream();
            entry.DataStream?.CopyTo(data);
            if (data.Length != entry.Length)
            {
                throw new InvalidDataException($"entry {entry.Name} holds {data.Length} of its {entry.Length} bytes");
            }

            entries.Add((entry.Name, entry.EntryType, SecretBytes.Contains(data.GetBuffer().AsSpan(0, (int)data.Length))));
        }

        return entries;
    }

    private static string Describe(TarEntryType? type) => type switch
    {
        TarEntryType.RegularFile or TarEntryType.V7RegularFile => "regular",
        TarEntryType.HardLink => "hard link",
        TarEntryType.SymbolicLink => "symlink",
        TarEntryType.Directory => "directory",
        null => "absent",
        _ => $"type {type}",
    };

    private static byte[] Ascii(char c, int length) => Enumerable.Repeat((byte)c, length).ToArray();

    [GeneratedRegex("\"type\":\"urn:layer-export:problem:(?<type>[a-z-]+)\"")]
    private static partial Regex ProblemType();

    /// <param name="State">For a complete 200: what the tar holds at swap-file and swap-dir, and any entry whose data holds secret bytes; for a refusal: its problem type.</param>
    private sealed record RaceOutcome(HttpStatusCode Status, bool Complete, int LeakOffset, string? State);

    private sealed class RaceTally
    {
        private readonly Lock _lock = new();
        private readonly Dictionary<string, int> _states = [];
        private readonly Dictionary<string, int> _refused = [];

        public int Complete { get; private set; }

        public int Aborted { get; private set; }

        public int Refused { get; private set; }

        public int Leaks { get; private set; }

        public string? FirstLeak { get; private set; }

        public string States
        {
            get
            {
                lock (_lock)
                {
                    return string.Join("; ", _states.OrderByDescending(static s => s.Value).Select(static s => $"{s.Key}: {s.Value}"));
                }
            }
        }

        public string RefusedStatuses
        {
            get
            {
                lock (_lock)
                {
                    return _refused.Count == 0 ? "none" : string.Join(", ", _refused.OrderBy(static s => s.Key, StringComparer.Ordinal).Select(static s => $"{s.Key}: {s.Value}"));
                }
            }
        }

        public void Add(int attempt, RaceOutcome outcome)
        {
            lock (_lock)
            {
                if (outcome.LeakOffset >= 0)
                {
                    Leaks++;
                    FirstLeak ??= $"export {attempt} (status {(int)outcome.Status}) at body offset {outcome.LeakOffset}";
                }

                if (outcome.Complete && outcome.Status is HttpStatusCode.OK or HttpStatusCode.PartialContent)
                {
                    Complete++;
                    if (outcome.Status == HttpStatusCode.OK && outcome.State is { } state)
                    {
                        _states[state] = _states.GetValueOrDefault(state) + 1;
                    }
                }
                else if (outcome.Complete)
                {
                    Refused++;
                    var key = $"{(int)outcome.Status} {outcome.State}";
                    _refused[key] = _refused.GetValueOrDefault(key) + 1;
                }
                else
                {
                    Aborted++;
                }
            }
        }
    }
}
