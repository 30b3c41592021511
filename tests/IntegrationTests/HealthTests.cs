using System.Net;
using IntegrationTests.Support;
using LayerExport.Core.Store;
using Microsoft.Extensions.DependencyInjection;

namespace IntegrationTests;

/// <summary><c>/healthz</c> answers while the process runs; <c>/readyz</c> only while the store's root is the one opened and can be read.</summary>
public sealed class HealthTests : IDisposable
{
    private readonly TempLayerStore _store = TempLayerStore.Create().AddLayer("base");

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task BothProbesAnswer200WithAHealthyStore()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();

        foreach (var path in (string[])["/healthz", "/readyz"])
        {
            using var response = await client.GetAsync(new Uri(path, UriKind.Relative));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("Healthy", await response.Content.ReadAsStringAsync());
            Assert.True(response.Headers.CacheControl?.NoStore, $"{path} may be cached");
        }
    }

    [Fact]
    public async Task ReadinessFailsWhenTheRootIsGoneAndReturnsWhenItIsBack()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        var moved = _store.Root + "-moved";

        Directory.Move(_store.Root, moved);
        try
        {
            using var notReady = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
            using var alive = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

            var problem = await ProblemAssert.IsProblemAsync(notReady, HttpStatusCode.ServiceUnavailable);
            Assert.Equal("urn:layer-export:problem:not-ready", problem.GetProperty("type").GetString());
            Assert.DoesNotContain(_store.Root, problem.GetRawText(), StringComparison.Ordinal);
            Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
            Assert.Equal("the store root no longer exists", await NotReadyReasonAsync(server));
        }
        finally
        {
            Directory.Move(moved, _store.Root);
        }

        using var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task ReadinessFailsWhenAnotherDirectoryTookTheRootsPlace()
    {
        await using var server = ApiServer.Start(_store.Root);
        using var client = server.CreateClient();
        var moved = _store.Root + "-moved";

        Directory.Move(_store.Root, moved);
        Directory.CreateDirectory(_store.Root);
        try
        {
            using var notReady = await client.GetAsync(new Uri("/readyz", UriKind.Relative));

            var problem = await ProblemAssert.IsProblemAsync(notReady, HttpStatusCode.ServiceUnavailable);
            Assert.Contains("replaced", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
            Assert.DoesNotContain(_store.Root, problem.GetRawText(), StringComparison.Ordinal);
            Assert.Equal("the store root was replaced by another directory; restart to serve it", await NotReadyReasonAsync(server));
        }
        finally
        {
            Directory.Delete(_store.Root);
            Directory.Move(moved, _store.Root);
        }

        using var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task ReadinessFailsWhenTheStoreCannotListItsLayers()
    {
        // The root is the one opened, yet every listing would fail: the store's own verdict, not a root check.
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(static store => new UnlistableStore(store)));
        using var client = server.CreateClient();

        using var notReady = await client.GetAsync(new Uri("/readyz", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(notReady, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("The layer store cannot be listed.", problem.GetProperty("detail").GetString());
        Assert.Equal(UnlistableStore.Reason, await NotReadyReasonAsync(server));
    }

    [Fact]
    public async Task AListingThatHangsIsNotReadyOnceTheTimeoutHasPassedAndTheProbesThatFollowShareIt()
    {
        HangingListStore? hanging = null;
        var clock = new HeldClock();
        await using var server = ApiServer.Start(
            _store.Root,
            services => services
                .AddSingleton<TimeProvider>(clock)
                .DecorateLayerStore(store => hanging = new HangingListStore(store)),
            settings: new Dictionary<string, string> { ["LayerStore:Access:ReadinessTimeout"] = "00:00:07" });
        using var client = server.CreateClient();
        var store = hanging ?? throw new InvalidOperationException("the store was not decorated");
        store.Hang();

        var notReady = new List<HttpResponseMessage>();
        for (var probe = 0; probe < 2; probe++)
        {
            var response = client.GetAsync(new Uri("/readyz", UriKind.Relative));
            Assert.Equal(TimeSpan.FromSeconds(7), await clock.NextTimerAsync());
            clock.FireTimers();
            notReady.Add(await response);
        }

        using var alive = await client.GetAsync(new Uri("/healthz", UriKind.Relative));

        foreach (var response in notReady)
        {
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
            Assert.Equal("The layer store did not answer in time.", problem.GetProperty("detail").GetString());
            response.Dispose();
        }

        Assert.Equal(HttpStatusCode.OK, alive.StatusCode);
        Assert.Equal(1, store.HungListings);
        Assert.Contains("LayerStore:Access:ReadinessTimeout (7 s)", await NotReadyReasonAsync(server), StringComparison.Ordinal);

        store.Answer();
        using var ready = await client.GetAsync(new Uri("/readyz", UriKind.Relative));
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
    }

    [Fact]
    public async Task ProbesNeedNoTokenWhenTokensAreRequired()
    {
        await using var server = ApiServer.Start(_store.Root, settings: BearerTokens.Settings(BearerTokens.NewToken()));
        using var client = server.CreateClient();

        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/healthz", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(new Uri("/readyz", UriKind.Relative))).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await client.GetAsync(new Uri("/layers", UriKind.Relative))).StatusCode);
    }

    // The log has the reason the anonymous answer leaves out.
    private static async Task<string?> NotReadyReasonAsync(ApiServer server) =>
        CapturedLogs.Property(await server.Logs.WaitForAsync(e => e.MessageTemplate.Text.StartsWith("Not ready", StringComparison.Ordinal), "the reason logged"), "Reason");

    private sealed class UnlistableStore(ILayerStore inner) : ILayerStore
    {
        public const string Reason = "the store's listing is refused";

        public LayerStoreLayout Layout => inner.Layout;

        public IReadOnlyList<LayerSummary> List() => throw new LayerStoreUnavailableException(Reason);

        public LayerDescription Describe(LayerId id) => inner.Describe(id);

        public ILayerContent Open(LayerId id) => inner.Open(id);
    }

    /// <summary>Once told to, every listing blocks until the test lets it answer: a store on a hung file system.</summary>
    private sealed class HangingListStore(ILayerStore inner) : ILayerStore, IDisposable
    {
        private readonly ManualResetEventSlim _answer = new(initialState: true);
        private int _hungListings;

        public int HungListings => Volatile.Read(ref _hungListings);

        public LayerStoreLayout Layout => inner.Layout;

        public void Hang() => _answer.Reset();

        public void Answer() => _answer.Set();

        public IReadOnlyList<LayerSummary> List()
        {
            if (!_answer.IsSet)
            {
                Interlocked.Increment(ref _hungListings);
                Assert.True(_answer.Wait(CapturedLogs.SafetyTimeout), "the test never let the listing answer");
            }

            return inner.List();
        }

        public LayerDescription Describe(LayerId id) => inner.Describe(id);

        public ILayerContent Open(LayerId id) => inner.Open(id);

        public void Dispose() => _answer.Dispose();
    }
}
