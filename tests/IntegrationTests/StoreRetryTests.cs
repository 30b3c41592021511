using System.Net;
using IntegrationTests.Support;
using LayerExport.Core;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;

namespace IntegrationTests;

/// <summary>Transient store errors before the first byte are retried (Polly); final verdicts are not.</summary>
public sealed class StoreRetryTests : IDisposable
{
    private const int EIO = 5;
    private const int ENOENT = 2;
    private const int ENFILE = 23;
    private const int EMFILE = 24;
    private readonly string _store = Directory.CreateTempSubdirectory("layerexport-retry-").FullName;

    public StoreRetryTests()
    {
        Directory.CreateDirectory(Path.Combine(_store, "layer", "diff"));
        File.WriteAllText(Path.Combine(_store, "layer", "layer.json"), "{}");
        File.WriteAllText(Path.Combine(_store, "layer", "diff", "file.txt"), "content\n");
    }

    [Fact]
    public async Task TransientErrorsAreRetriedUntilTheExportSucceeds()
    {
        var flaky = new FlakyStore(new NativeLayerStore(_store), failures: 2);
        using var factory = Factory(flaky);
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/layers/layer/tar");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, flaky.Calls);
    }

    [Fact]
    public async Task APersistentErrorEndsInAProblemAfterTheConfiguredAttempts()
    {
        var broken = new FlakyStore(new NativeLayerStore(_store), failures: int.MaxValue);
        using var factory = Factory(broken);
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/layers/layer/tar");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        Assert.Equal(1 + 2, broken.Calls);
    }

    // Without descriptors left the server is short, not the layer: a 500 "layer unreadable" would tell a client to give up.
    [Theory]
    [InlineData(EMFILE, false)]
    [InlineData(ENFILE, false)]
    [InlineData(EMFILE, true)]
    public async Task RunningOutOfFileDescriptorsIsA503NotAnUnreadableLayer(int errno, bool atAnEntry)
    {
        var exhausted = new FlakyStore(
            new NativeLayerStore(_store),
            failures: int.MaxValue,
            failure: id => atAnEntry ? new LayerExportException("d/file.txt", "cannot be opened", new NativeIOException(errno, "file.txt")) : new NativeIOException(errno, id.Value));
        using var factory = Factory(exhausted);
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/layers/layer/tar");

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:out-of-file-descriptors", problem.GetProperty("type").GetString());
        Assert.Equal("Server out of file descriptors", problem.GetProperty("title").GetString());
        Assert.Equal(1 + 2, exhausted.Calls);
    }

    [Theory]
    [InlineData("/layers")]
    [InlineData("/layers/layer")]
    public async Task TheListingAndADescriptionRetryTransientErrorsAsAnExportDoes(string path)
    {
        // The stores leave transient errors to their caller to retry; these endpoints answered them with an untyped 500.
        var flaky = new FlakyStore(new NativeLayerStore(_store), failures: 2, listToo: true);
        using var factory = Factory(flaky);
        using var client = factory.CreateClient();

        using var response = await client.GetAsync(path);

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, flaky.Calls);
    }

    [Theory]
    [InlineData("/layers", EMFILE, HttpStatusCode.ServiceUnavailable, "out-of-file-descriptors")]
    [InlineData("/layers/layer", EMFILE, HttpStatusCode.ServiceUnavailable, "out-of-file-descriptors")]
    [InlineData("/layers/layer", EIO, HttpStatusCode.InternalServerError, "layer-unreadable")]
    public async Task APersistentErrorOfTheListingOrADescriptionIsItsProblem(string path, int errno, HttpStatusCode status, string type)
    {
        var broken = new FlakyStore(new NativeLayerStore(_store), failures: int.MaxValue, id => new NativeIOException(errno, id.Value), listToo: true);
        using var factory = Factory(broken);
        using var client = factory.CreateClient();

        using var response = await client.GetAsync(path);

        var problem = await ProblemAssert.IsProblemAsync(response, status);
        Assert.Equal($"urn:layer-export:problem:{type}", problem.GetProperty("type").GetString());
        Assert.Equal(1 + 2, broken.Calls);
    }

    [Fact]
    public async Task AFinalVerdictIsNotRetried()
    {
        var counting = new FlakyStore(new NativeLayerStore(_store), failures: 0);
        using var factory = Factory(counting);
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/layers/missing/tar");

        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal(1, counting.Calls);
    }

    [Fact]
    public async Task ALayerThatChangedUnderTheWalkIsWalkedAgain()
    {
        var changing = new FlakyStore(new NativeLayerStore(_store), failures: 2, ChangedUnderTheWalk);
        using var factory = Factory(changing);
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/layers/layer/tar");

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(3, changing.Calls);
    }

    [Fact]
    public async Task ALayerThatKeepsChangingIsA503LayerChanging()
    {
        var changing = new FlakyStore(new NativeLayerStore(_store), failures: int.MaxValue, ChangedUnderTheWalk);
        using var factory = Factory(changing);
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/layers/layer/tar");

        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("urn:layer-export:problem:layer-changing", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(1 + 2, changing.Calls);
    }

    [Fact]
    public async Task ASurveyThatFailsGivesBackTheLayerItOpenedAtEveryAttempt()
    {
        // Left to the finalizer, each failed attempt would hold the layer's descriptors for an unknown time.
        var failing = new SurveyFailingStore(new NativeLayerStore(_store));
        using var factory = Factory(failing);
        using var client = factory.CreateClient();

        using var response = await client.GetAsync("/layers/layer/tar");

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal(1 + 2, failing.Surveys);
        Assert.Empty(OpenFileDescriptors.Under(Path.Combine(_store, "layer")));
    }

    public void Dispose() => Directory.Delete(_store, recursive: true);

    private WebApplicationFactory<Program> Factory(ILayerStore store) =>
        new WebApplicationFactory<Program>().WithWebHostBuilder(builder => builder
            .UseSetting("LayerStore:Root", _store)
            .UseSetting("DigestCache:Directory", "")
            .UseSetting("LayerStore:Access:RetryAttempts", "2")
            .UseSetting("LayerStore:Access:RetryDelay", "00:00:00.001")
            .ConfigureTestServices(services => services.AddSingleton(store)));

    // What the walk throws when an entry it listed is gone when it opens it.
    private static LayerExportException ChangedUnderTheWalk(LayerId id) =>
        new("d/gone.txt", "listed, then gone", new NativeIOException(ENOENT, "d/gone.txt"));

    /// <summary>Opens layers as the real store does; every survey of one fails with EIO.</summary>
    private sealed class SurveyFailingStore(ILayerStore inner) : ILayerStore
    {
        private int _surveys;

        public int Surveys => Volatile.Read(ref _surveys);

        public LayerStoreLayout Layout => inner.Layout;

        public IReadOnlyList<LayerSummary> List() => inner.List();

        public LayerDescription Describe(LayerId id) => inner.Describe(id);

        public ILayerContent Open(LayerId id) => new Content(inner.Open(id), this);

        private sealed class Content(ILayerContent content, SurveyFailingStore store) : ILayerContent
        {
            public ILayerEntryReader CreateReader(CancellationToken cancellationToken) => content.CreateReader(cancellationToken);

            public ILayerEntryReader CreateMetadataReader(CancellationToken cancellationToken)
            {
                Interlocked.Increment(ref store._surveys);
                throw new NativeIOException(EIO, "diff");
            }

            public void Dispose() => content.Dispose();
        }
    }

    /// <summary>Fails Describe (and List when <c>listToo</c>; with EIO, or <c>failure</c>) the first <c>failures</c> times, then behaves like the real store.</summary>
    private sealed class FlakyStore(ILayerStore inner, int failures, Func<LayerId, Exception>? failure = null, bool listToo = false) : ILayerStore
    {
        private int _calls;

        public int Calls => _calls;

        public LayerStoreLayout Layout => inner.Layout;

        public IReadOnlyList<LayerSummary> List() =>
            listToo && Interlocked.Increment(ref _calls) <= failures ? throw failure?.Invoke(LayerId.Parse("layer")) ?? new NativeIOException(EIO, "layer") : inner.List();

        public LayerDescription Describe(LayerId id) =>
            Interlocked.Increment(ref _calls) <= failures ? throw failure?.Invoke(id) ?? new NativeIOException(EIO, id.Value) : inner.Describe(id);

        public ILayerContent Open(LayerId id) => inner.Open(id);
    }
}
