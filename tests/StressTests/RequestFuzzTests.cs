using System.Net;
using System.Text.RegularExpressions;
using LayerExport.TestSupport;
using StressTests.Fuzz;
using StressTests.Infrastructure;
using Xunit.Abstractions;

namespace StressTests;

/// <summary>Fuzzed IDs, parent lists, query strings, paths, methods and Range, If-Range, If-None-Match and Accept headers against every endpoint: never a 5xx.</summary>
public sealed partial class RequestFuzzTests(ITestOutputHelper output)
{
    private const int Workers = 4;
    private static readonly TimeSpan ExchangeDeadline = TimeSpan.FromSeconds(60);
    private static readonly string[] Chain = ["patch", "app", "base"];
    private static readonly HashSet<string> HostileMutations = ["control-chars", "huge-header", "huge-target", "non-ascii-header", "odd-path", "method", "many-parents", "id"];

    [Fact]
    public async Task NoFuzzedRequestIsAnsweredWithAServerError()
    {
        var figures = new Figures(output, "fuzz");
        var count = StressSettings.FuzzRequests;
        var seed = StressSettings.FuzzSeed;
        using var work = new TemporaryDirectory("stress-fuzz");
        var store = BuildStore(work.Combine("store"));
        using var server = await ServerProcess.StartAsync(store.Root, work.Combine("digests"));
        var target = await DiscoverAsync(server);
        var fuzzer = new RequestFuzzer(seed, target);
        var endpoint = new IPEndPoint(IPAddress.Loopback, server.BaseAddress.Port);
        var host = server.BaseAddress.Authority;

        var outcomes = new Outcome[count];
        await Parallel.ForAsync(0, count, new ParallelOptions { MaxDegreeOfParallelism = Workers }, async (i, _) =>
        {
            var request = fuzzer.Create(i);
            using var deadline = new CancellationTokenSource(ExchangeDeadline);
            try
            {
                var response = await RawHttp.ExchangeAsync(endpoint, request.ToBytes(host), cutAfter: null, reset: false, deadline.Token);
                outcomes[i] = new Outcome(request, response.Status, Summarize(response), response.Error);
            }
            catch (OperationCanceledException)
            {
                outcomes[i] = new Outcome(request, null, $"no complete answer within {ExchangeDeadline}", "timeout");
            }
        });

        var byStatus = outcomes.GroupBy(static o => o.Status).OrderBy(static g => g.Key ?? 0).ToList();
        figures.Report("requests", $"{count} (seed {seed})");
        figures.Report("answers by status", $"{string.Join(", ", byStatus.Select(static g => $"{g.Key?.ToString() ?? "none"}: {g.Count()}"))}");
        var serverErrors = outcomes.Where(static o => o.Status >= 500).ToList();
        figures.Report("5xx answers", $"{serverErrors.Count}");

        // The most hostile rejected inputs, one per status, rarest status first.
        var rejections = outcomes.Where(static o => o.Status is >= 400 and < 500)
            .GroupBy(static o => o.Status)
            .OrderBy(static g => g.Count())
            .Take(6);
        foreach (var status in rejections)
        {
            var example = status.OrderByDescending(static o => o.Request.Mutations.Count(HostileMutations.Contains)).ThenBy(static o => o.Request.Index).First();
            figures.Report($"rejected with {status.Key} ({status.Count()}x), e.g.", $"{example.Request.Describe()} -> {example.Summary}");
        }

        Assert.False(server.HasExited, $"The server exited during the fuzz run. Output:\n{server.Output}");
        Assert.True(serverErrors.Count == 0, $"{serverErrors.Count} fuzzed requests (seed {seed}) got a 5xx answer:\n{string.Join("\n", serverErrors.Take(10).Select(static o => $"{o.Request.Describe(400)}\n  -> {o.Summary}"))}");

        // Every request must get some answer; a connection dropped without one would hide a crashed request.
        var unanswered = outcomes.Where(static o => o.Status is null).ToList();
        Assert.True(unanswered.Count == 0, $"{unanswered.Count} fuzzed requests (seed {seed}) got no status line:\n{string.Join("\n", unanswered.Take(10).Select(static o => $"{o.Request.Describe(400)}\n  -> {o.Error}: {o.Summary}"))}");
    }

    [Fact]
    public void TheSameSeedGivesTheSameRequestsAndAnotherSeedOthers()
    {
        var target = new FuzzTarget(Chain, ["\"sha256:" + new string('a', 64) + "\""], 10_240);
        var first = new RequestFuzzer(7, target);
        var again = new RequestFuzzer(7, target);
        var other = new RequestFuzzer(8, target);

        var same = Enumerable.Range(0, 500).All(i => first.Create(i).ToBytes("h").AsSpan().SequenceEqual(again.Create(i).ToBytes("h")));
        var differing = Enumerable.Range(0, 500).Count(i => !first.Create(i).ToBytes("h").AsSpan().SequenceEqual(other.Create(i).ToBytes("h")));

        Assert.True(same, "two fuzzers with seed 7 built different requests");
        Assert.True(differing > 400, $"seeds 7 and 8 built the same request {500 - differing} times out of 500");
    }

    // base <- app <- patch, plus a base layer whose ID has the longest allowed length.
    private static NativeStoreBuilder BuildStore(string root)
    {
        var store = new NativeStoreBuilder(root);
        var baseDiff = store.AddLayer("base");
        NativeStoreBuilder.WriteFile(baseDiff, "etc/os-release", "ID=fuzz\n"u8.ToArray());
        NativeStoreBuilder.WriteFile(baseDiff, "usr/lib/data.bin", TestContent.Random(1, 20_000));
        var appDiff = store.AddLayer("app", "base");
        NativeStoreBuilder.WriteFile(appDiff, "app/main.py", "print('fuzz')\n"u8.ToArray());
        File.CreateSymbolicLink(Path.Combine(appDiff, "app/current"), "main.py");
        NativeStoreBuilder.WriteFile(appDiff, "usr/lib/.wh.data.bin", []);
        var patchDiff = store.AddLayer("patch", "app");
        NativeStoreBuilder.WriteFile(patchDiff, "app/main.py", "print('patched')\n"u8.ToArray());
        var longDiff = store.AddLayer("L" + new string('o', 126) + "g");
        NativeStoreBuilder.WriteFile(longDiff, "long", "long\n"u8.ToArray());
        foreach (var diff in new[] { baseDiff, appDiff, patchDiff, longDiff })
        {
            NativeStoreBuilder.FixDirectoryTimes(diff);
        }

        return store;
    }

    // The real ETags (so If-None-Match and If-Range can match) and the largest tar's size (so ranges land near its end).
    private static async Task<FuzzTarget> DiscoverAsync(ServerProcess server)
    {
        using var client = server.CreateClient();
        var etags = new List<string>();
        long largest = 0;
        foreach (var id in Chain)
        {
            foreach (var compression in new[] { "none", "gzip", "zstd" })
            {
                var descriptor = await client.GetStringAsync(new Uri($"/layers/{id}/descriptor?compression={compression}", UriKind.Relative));
                etags.Add($"\"{DigestField().Match(descriptor).Groups["digest"].Value}\"");
            }

            using var head = new HttpRequestMessage(HttpMethod.Head, $"/layers/{id}/tar");
            using var response = await client.SendAsync(head);
            largest = Math.Max(largest, response.Content.Headers.ContentLength ?? 0);
        }

        Assert.All(etags, static etag => Assert.Matches("^\"sha256:[0-9a-f]{64}\"$", etag));
        return new FuzzTarget(Chain, etags, largest);
    }

    private static string Summarize(RawResponse response)
    {
        var statusLine = response.HeaderText.Split("\r\n")[0];
        var problem = ProblemTypeField().Match(response.BodyText);
        return problem.Success ? $"{statusLine} ({problem.Groups["type"].Value})" : statusLine;
    }

    [GeneratedRegex("\"digest\":\"(?<digest>sha256:[0-9a-f]{64})\"")]
    private static partial Regex DigestField();

    [GeneratedRegex("\"type\":\"urn:layer-export:problem:(?<type>[a-z-]+)\"")]
    private static partial Regex ProblemTypeField();

    private sealed record Outcome(FuzzRequest Request, int? Status, string Summary, string? Error);
}
