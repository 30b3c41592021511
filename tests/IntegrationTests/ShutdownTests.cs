using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using IntegrationTests.Support;
using LayerExport.Core.Export;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;

namespace IntegrationTests;

/// <summary>A stop lets running exports finish within Limits:ShutdownTimeout, then aborts them: never a short tar that looks whole.</summary>
public sealed class ShutdownTests : IDisposable
{
    private const string Layer = "long";
    private const string HeldEntry = "b/held.bin";
    private const int FirstRead = 256 * 1024;

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer(Layer)
        .AddFile(Layer, "a/first.bin", RandomNumberGenerator.GetBytes(1024 * 1024))
        .AddPatternFile(Layer, HeldEntry, 1024 * 1024);

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("shutdown-");

    public void Dispose()
    {
        _store.Dispose();
        _work.Delete(recursive: true);
    }

    [Fact]
    public async Task AnExportStillRunningWhenTheTimeoutRunsOutIsAbortedAndTheClientSeesAShortBody()
    {
        BlockingLayerStore? blocking = null;
        await using var server = Start("00:00:01", inner => blocking = new BlockingLayerStore(inner, HeldEntry));
        using var client = server.CreateClient();
        using var response = await client.GetAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStreamAsync();
        using var received = new MemoryStream();
        await body.ReadExactlyAsync(new byte[FirstRead]);
        await blocking!.WaitUntilHeldAsync();

        var stop = server.StopAsync();
        var failure = await Record.ExceptionAsync(() => body.CopyToAsync(received));
        blocking.Release();
        await stop.WaitAsync(CapturedLogs.SafetyTimeout);

        Assert.IsAssignableFrom<IOException>(failure);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var length = response.Content.Headers.ContentLength;
        Assert.True(FirstRead + received.Length < length, $"{FirstRead + received.Length} of {length} bytes arrived");
        var aborted = await server.Logs.WaitForExportOutcomeAsync(Layer, "aborted");
        Assert.Equal(Serilog.Events.LogEventLevel.Warning, aborted.Level);
    }

    [Fact]
    public async Task ACompressedExportAbortedByTheTimeoutIsAFailedTransfer()
    {
        BlockingLayerStore? blocking = null;
        await using var server = Start("00:00:01", inner => blocking = new BlockingLayerStore(inner, HeldEntry));
        using var client = server.CreateClient();

        // The compressor may hold its first blocks back, so the status line may or may not have left before the stop.
        var transfer = Task.Run(async () =>
        {
            using var response = await client.GetAsync(new Uri($"/layers/{Layer}/tar?compression=gzip", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
            await (await response.Content.ReadAsStreamAsync()).CopyToAsync(Stream.Null);
        });
        await blocking!.WaitUntilHeldAsync();
        var stop = server.StopAsync();
        var failure = await Record.ExceptionAsync(() => transfer);
        blocking.Release();
        await stop.WaitAsync(CapturedLogs.SafetyTimeout);

        Assert.True(failure is IOException or HttpRequestException, $"the client saw {failure?.GetType().Name ?? "a complete transfer"}");
        await server.Logs.WaitForExportOutcomeAsync(Layer, "aborted");
    }

    [Fact]
    public async Task AStopRefusesNewConnectionsButLetsARunningExportFinish()
    {
        BlockingLayerStore? blocking = null;
        await using var server = Start("00:05:00", inner => blocking = new BlockingLayerStore(inner, HeldEntry));
        var stopping = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        server.Services.GetRequiredService<IHostApplicationLifetime>().ApplicationStopping.Register(() => stopping.TrySetResult());
        using var client = server.CreateClient();
        using var response = await client.GetAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStreamAsync();
        var tar = new MemoryStream();
        var first = new byte[FirstRead];
        await body.ReadExactlyAsync(first);
        tar.Write(first);
        await blocking!.WaitUntilHeldAsync();

        var stop = server.StopAsync();
        await stopping.Task.WaitAsync(CapturedLogs.SafetyTimeout);
        Assert.True(SpinWait.SpinUntil(() => Refuses(server.BaseAddress), CapturedLogs.SafetyTimeout), "the server still accepts connections while stopping");
        Assert.False(stop.IsCompleted, "the stop did not wait for the running export");
        blocking.Release();
        await body.CopyToAsync(tar);
        await stop.WaitAsync(CapturedLogs.SafetyTimeout);

        Assert.Equal(response.Content.Headers.ContentLength, tar.Length);
        var archive = Path.Combine(_work.FullName, "layer.tar");
        await File.WriteAllBytesAsync(archive, tar.ToArray());
        Assert.Equal(["a/", "a/first.bin", "b/", "b/held.bin"], await GnuTar.ListNamesAsync(archive));
        await server.Logs.WaitForExportOutcomeAsync(Layer, "completed");
    }

    [Fact]
    public async Task ADescriptorStillComputedWhenTheTimeoutRunsOutIsLoggedAsTheServersAbortNotAsAClientThatLeft()
    {
        BlockingLayerStore? blocking = null;
        await using var server = Start("00:00:01", inner => blocking = new BlockingLayerStore(inner, HeldEntry));
        using var client = server.CreateClient();
        var asking = client.GetAsync(new Uri($"/layers/{Layer}/descriptor", UriKind.Relative));
        await blocking!.WaitUntilHeldAsync();

        var stop = server.StopAsync();
        await Assert.ThrowsAsync<HttpRequestException>(() => asking);
        var logged = await server.Logs.WaitForRequestLoggedAsync($"/layers/{Layer}/descriptor");
        blocking.Release();
        await stop.WaitAsync(CapturedLogs.SafetyTimeout);

        Assert.Equal("503", CapturedLogs.Property(logged, "StatusCode"));
        Assert.Equal("aborted", CapturedLogs.Property(logged, "ExportOutcome"));
        Assert.Equal(Serilog.Events.LogEventLevel.Warning, logged.Level);
        Assert.Null(logged.Exception);
    }

    [Fact]
    public async Task ABodyCutByTheTimeoutIsAWarningInTheRequestLog()
    {
        BlockingLayerStore? blocking = null;
        await using var server = Start("00:00:01", inner => blocking = new BlockingLayerStore(inner, HeldEntry));
        using var client = server.CreateClient();
        using var response = await client.GetAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative), HttpCompletionOption.ResponseHeadersRead);
        var body = await response.Content.ReadAsStreamAsync();
        await blocking!.WaitUntilHeldAsync();

        var stop = server.StopAsync();
        await Assert.ThrowsAnyAsync<IOException>(() => body.CopyToAsync(Stream.Null));
        blocking.Release();
        await stop.WaitAsync(CapturedLogs.SafetyTimeout);
        var logged = await server.Logs.WaitForRequestLoggedAsync($"/layers/{Layer}/tar");

        Assert.Equal("aborted", CapturedLogs.Property(logged, "ExportOutcome"));
        Assert.Equal(Serilog.Events.LogEventLevel.Warning, logged.Level);
    }

    [Fact]
    public async Task ADescriptorThatWouldNeedANewComputationWhileTheServiceStopsIsAServiceStoppingProblem()
    {
        await using var server = ApiServer.Start(_store.Root);
        server.Services.GetRequiredService<LayerDescriptors>().StopStarting();
        using var client = server.CreateClient();

        using var response = await client.GetAsync(new Uri($"/layers/{Layer}/descriptor?compression=gzip", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.ServiceUnavailable);
        Assert.Equal("urn:layer-export:problem:service-stopping", problem.GetProperty("type").GetString());
    }

    [Fact]
    public async Task OnceTheHostBeginsToStopNoDescriptorComputationStarts()
    {
        await using var server = ApiServer.Start(_store.Root);
        var descriptors = server.Services.GetRequiredService<LayerDescriptors>();
        using var export = server.Services.GetRequiredService<LayerExporter>().Prepare(Layer, []);
        var survey = export.Survey(CancellationToken.None);

        server.Services.GetRequiredService<IHostApplicationLifetime>().StopApplication();
        var asking = descriptors.GetAsync(Layer, survey, LayerExport.Core.Compression.LayerCompression.Gzip, CancellationToken.None);

        // Refused on the spot, not started and then cut when the host is disposed.
        Assert.True(asking.IsFaulted, $"the computation started ({asking.Status})");
        await Assert.ThrowsAsync<ServiceStoppingException>(() => asking);
    }

    private ApiServer Start(string shutdownTimeout, Func<LayerExport.Core.Store.ILayerStore, LayerExport.Core.Store.ILayerStore> decorate) => ApiServer.Start(
        _store.Root,
        services => services.DecorateLayerStore(decorate),
        settings: new Dictionary<string, string> { ["Limits:ShutdownTimeout"] = shutdownTimeout });

    private static bool Refuses(Uri server)
    {
        using var tcp = new TcpClient();
        try
        {
            tcp.Connect(server.Host, server.Port);
            return false;
        }
        catch (SocketException)
        {
            return true;
        }
    }
}
