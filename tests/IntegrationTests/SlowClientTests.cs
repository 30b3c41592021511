using System.Globalization;
using System.IO.Pipelines;
using System.Net.Sockets;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using System.Text;
using IntegrationTests.Support;
using LayerExport.Core.Tar;
using LayerExport.TestSupport;
using LayerExportApi.Limits;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IntegrationTests;

/// <summary>A client that stops reading holds no more than the socket buffers, and is dropped by the minimum data rate; one that reads faster than the rate is kept.</summary>
public sealed class SlowClientTests : IDisposable
{
    private const long BlobSize = 64L * 1024 * 1024;

    // The kernel's send buffer (at most 4 MiB here), the client's fixed receive buffer, the connection's 128 KiB and one flush.
    private const long BufferedAtMost = 16L * 1024 * 1024;

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("big")
        .AddPatternFile("big", "data/blob.bin", BlobSize);

    public void Dispose() => _store.Dispose();

    [Theory]
    [InlineData(1.0, 10L * 1024 * 1024 * 1024)]
    [InlineData(0.001, 16L * 1024 * 1024)]
    public void ADownloadAheadOfALowRateIsNotBehindHoweverManyBytesItSent(double bytesPerSecond, long flushed)
    {
        // Bytes over the rate, counted in stopwatch ticks, pass a long's range after some 9 GB at 1 byte/s.
        Assert.False(ResponseRateGuard.IsBehind(TimeSpan.FromSeconds(1), flushed, bytesPerSecond, TimeSpan.FromSeconds(10)));
        Assert.True(ResponseRateGuard.IsBehind(TimeSpan.FromSeconds(11 + (flushed / bytesPerSecond)), flushed, bytesPerSecond, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public void ADownloadExactlyAtItsDeadlineIsNotYetBehind()
    {
        Assert.False(ResponseRateGuard.IsBehind(TimeSpan.FromSeconds(12), 2048, 1024, TimeSpan.FromSeconds(10)));
        Assert.True(ResponseRateGuard.IsBehind(TimeSpan.FromSeconds(12.5), 2048, 1024, TimeSpan.FromSeconds(10)));
    }

    [Fact]
    public async Task AClientThatHasReadEveryFlushIsNotDroppedWhileTheExportIsSlowToWriteMore()
    {
        // Only a flush the client has not taken yet is its delay; the export's own pace is not held against it.
        var aborts = new CountingLifetime();
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpRequestLifetimeFeature>(aborts);
        var client = new Pipe(new PipeOptions(pauseWriterThreshold: 1, resumeWriterThreshold: 1));
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(client.Writer.AsStream()));
        using var guard = ResponseRateGuard.Install(context, 1e12, TimeSpan.Zero, TimeProvider.System)!;
        var writer = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>().Writer;
        writer.GetSpan(2)[..2].Clear();
        writer.Advance(2);
        var flush = writer.FlushAsync();
        Assert.False(flush.IsCompleted, "the flush completed before the client read: nothing was pending");

        var read = await client.Reader.ReadAsync();
        client.Reader.AdvanceTo(read.Buffer.End);
        await flush;
        guard.Check();

        Assert.Equal(0, aborts.Aborted);
        Assert.False(guard.Tripped);
        await client.Reader.CompleteAsync();
    }

    [Fact]
    public async Task AnExportsOwnPauseMidBodyIsNotHeldAgainstAClientThatReadEverything()
    {
        // A store that stalls (a slow disk, a network file system recovering) sends nothing for a while; a client that
        // had read every byte was dropped at its next flush, however fast it read, once the pause outlasted its credit.
        var aborts = new CountingLifetime();
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpRequestLifetimeFeature>(aborts);
        var client = new Pipe(new PipeOptions(pauseWriterThreshold: 1, resumeWriterThreshold: 1));
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(client.Writer.AsStream()));
        var clock = new MovableClock();
        using var guard = ResponseRateGuard.Install(context, 1024, TimeSpan.FromSeconds(10), clock)!;
        var writer = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>().Writer;
        writer.GetSpan(2048)[..2048].Clear();
        writer.Advance(2048);
        var first = writer.FlushAsync();
        var read = await client.Reader.ReadAsync();
        client.Reader.AdvanceTo(read.Buffer.End);
        await first;

        clock.MoveOn(TimeSpan.FromMinutes(1));
        writer.GetSpan(2048)[..2048].Clear();
        writer.Advance(2048);
        var second = writer.FlushAsync();
        Assert.False(second.IsCompleted, "the flush completed before the client read: nothing was pending");
        guard.Check();

        Assert.False(guard.Tripped, "a client was dropped for the export's own pause");

        // Left waiting past the grace period and its bytes over the rate, the flush is the client's delay.
        clock.MoveOn(TimeSpan.FromSeconds(15));
        guard.Check();

        Assert.True(guard.Tripped, "a client that took nothing for longer than its deadline was kept");
        Assert.Equal(1, aborts.Aborted);
        await client.Reader.CompleteAsync();
    }

    [Fact]
    public void AGuardDisposedLeavesNoTimerHoldingTheRequest()
    {
        // A timer left running would keep every finished download's context alive, one more each download.
        var request = GuardedAndDisposedRequest();

        GC.Collect();
        GC.WaitForPendingFinalizers();
        GC.Collect();

        Assert.False(request.IsAlive, "the request's context outlived its disposed guard");
    }

    [Fact]
    public async Task ByDefaultAClientMustReadAtLeast16KiBPerSecond()
    {
        await using var server = ApiServer.Start(_store.Root);

        var rate = server.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits.MinResponseDataRate;

        Assert.Equal(16 * 1024, rate?.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(10), rate?.GracePeriod);
    }

    [Fact]
    public async Task AConnectionHoldsOneFlushBatchUnsentBeforeTheWriterWaits()
    {
        await using var server = ApiServer.Start(_store.Root);

        var unsent = server.Services.GetRequiredService<IOptions<SocketTransportOptions>>().Value.MaxWriteBufferSize;

        Assert.Equal(TarStreamWriter.FlushThreshold, unsent);
    }

    [Fact]
    public async Task AGuardDisposedWithAFlushStillPendingNeverAbortsTheContextAgain()
    {
        var aborts = new CountingLifetime();
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpRequestLifetimeFeature>(aborts);
        var unread = new Pipe(new PipeOptions(pauseWriterThreshold: 1, resumeWriterThreshold: 1));
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(unread.Writer.AsStream()));
        var guard = ResponseRateGuard.Install(context, 1e12, TimeSpan.Zero, TimeProvider.System)!;
        var writer = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>().Writer;
        writer.GetSpan(2)[..2].Clear();
        writer.Advance(2);
        var pending = writer.FlushAsync();

        // Kestrel may give the context to the connection's next request once this one is over.
        guard.Dispose();
        guard.Check();

        Assert.False(pending.IsCompleted, "the flush completed: the check had nothing pending to judge");
        Assert.Equal(0, aborts.Aborted);
        await unread.Reader.CompleteAsync();
    }

    [Fact]
    public void KestrelsOwnCheckComesBackForWhatIsWrittenAfterTheBody()
    {
        // A chunked body's last chunk, or HTTP/2 trailers, go out once the export is over: timed as any response.
        var context = new DefaultHttpContext();
        var kestrelCheck = new KestrelRate { MinDataRate = new MinDataRate(16 * 1024, TimeSpan.FromSeconds(10)) };
        var configured = kestrelCheck.MinDataRate;
        context.Features.Set<IHttpMinResponseDataRateFeature>(kestrelCheck);

        var guard = ResponseRateGuard.Install(context, 16 * 1024, TimeSpan.FromSeconds(10), new MovableClock())!;
        var whileGuarded = kestrelCheck.MinDataRate;
        guard.Dispose();

        Assert.Null(whileGuarded);
        Assert.Same(configured, kestrelCheck.MinDataRate);
    }

    [Fact]
    public async Task AFlushTheClientLeavesWaitingBeforeTheFirstByteIsTimedToo()
    {
        // A compressed range flushes its headers before it makes its body. Behind earlier answers the client left
        // unread on the connection (pipelined requests), that flush waited with no clock running and Kestrel's own
        // check off: the request, and its export slot, were held for as long as the client kept the connection open.
        var aborts = new CountingLifetime();
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpRequestLifetimeFeature>(aborts);
        var connection = new UnreadConnection();
        context.Features.Set<IHttpResponseBodyFeature>(connection);
        var clock = new MovableClock();
        using var guard = ResponseRateGuard.Install(context, 1024, TimeSpan.FromSeconds(10), clock)!;
        await context.Response.StartAsync();
        var pending = context.Features.GetRequiredFeature<IHttpResponseBodyFeature>().Writer.FlushAsync();
        Assert.False(pending.IsCompleted, "the flush completed: nothing was left waiting");

        clock.MoveOn(TimeSpan.FromSeconds(11));
        guard.Check();

        Assert.True(guard.Tripped, "a client that took nothing for longer than the grace period was kept");
        Assert.Equal(1, aborts.Aborted);
        await connection.ReadAsync();
        await pending;
    }

    [Fact]
    public async Task AStalledClientIsDroppedAndTheServerNeverGetsFarAheadOfIt()
    {
        // Kestrel gives each write max(grace period, its bytes / rate) to leave, accumulated over the writes: with
        // megabytes in the socket buffers, a high rate gets a reader that never reads dropped within the grace period.
        await using var server = ApiServer.Start(_store.Root, settings: new Dictionary<string, string>
        {
            ["Limits:MinResponseBytesPerSecond"] = "50000000",
            ["Limits:MinResponseGracePeriod"] = "00:00:02",
        });
        var rate = server.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits.MinResponseDataRate;
        Assert.Equal(50_000_000, rate?.BytesPerSecond);
        Assert.Equal(TimeSpan.FromSeconds(2), rate?.GracePeriod);

        // A fixed, small receive buffer keeps the kernel from growing the window for a reader that never reads.
        using var tcp = new TcpClient { ReceiveBufferSize = 64 * 1024 };
        await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /layers/big/tar HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\n\r\n"));
        var head = await ReadHeadAsync(stream);
        Assert.StartsWith("HTTP/1.1 200", head, StringComparison.Ordinal);

        var cancelled = await server.Logs.WaitForExportOutcomeAsync("big", "cancelled");

        var produced = long.Parse(CapturedLogs.Property(cancelled, "Bytes")!, CultureInfo.InvariantCulture);
        Assert.True(produced < BufferedAtMost, $"the server produced {produced} bytes for a client that read none");
        var rest = await ReadToEndOrFailureAsync(stream);
        Assert.True(rest < BlobSize, $"the dropped client still got {rest} bytes");

        // The operator reads why the client was dropped, and the drop counts as a cancelled export.
        Assert.Contains("read slower than", cancelled.MessageTemplate.Text, StringComparison.Ordinal);
        using var client = server.CreateClient();
        var scrape = await PrometheusScrape.TakeAsync(client);
        Assert.Equal(1, scrape.Value("layer_export_exports_total", ("representation", "none"), ("outcome", "cancelled")));
    }

    [Fact]
    public async Task AMinimumRateOfZeroTurnsKestrelsCheckOffAndDownloadsStillComplete()
    {
        // 0 is the documented way to turn the check off; a zero rate handed to Kestrel would be a check of its own.
        await using var server = ApiServer.Start(_store.Root, settings: new Dictionary<string, string>
        {
            ["Limits:MinResponseBytesPerSecond"] = "0",
        });

        Assert.Null(server.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits.MinResponseDataRate);
        using var client = server.CreateClient();
        var tar = await client.GetByteArrayAsync(new Uri("/layers/big/tar", UriKind.Relative));
        Assert.True(tar.LongLength > BlobSize, $"the download ended after {tar.LongLength} bytes");
    }

    [Fact]
    public async Task AClientReadingAtFourTimesTheMinimumRateIsKeptThoughSingleFlushesWaitLongerThanTheGracePeriod()
    {
        // Megabytes sit in the socket buffers within the first second, and the sender is woken only when a large part
        // of them has drained, so at 4x the minimum rate a single flush waits longer than the grace period and than
        // its own bytes over the rate. Kestrel's own check times each flush that way: it dropped this client after
        // about 7 s. curl paces its reads (--limit-rate) and ends the download itself after 10 s (exit code 28).
        await using var server = ApiServer.Start(_store.Root, settings: new Dictionary<string, string>
        {
            ["Limits:MinResponseBytesPerSecond"] = "262144",
            ["Limits:MinResponseGracePeriod"] = "00:00:01.001",
        });

        var curl = await ProcessRunner.RunAsync(
            "curl",
            ["--silent", "--show-error", "--noproxy", "*", "--limit-rate", "1M", "--max-time", "10", "--output", "/dev/null", "--write-out", "%{size_download}", server.Url("/layers/big/tar")],
            timeout: TimeSpan.FromSeconds(60));

        Assert.True(curl.ExitCode == 28, $"curl did not run to its own time limit: {curl.Describe()}");
        Assert.True(long.Parse(curl.StandardOutput, CultureInfo.InvariantCulture) >= 5L * 1024 * 1024, curl.Describe());
        Assert.DoesNotContain(server.Logs.Events, e => e.MessageTemplate.Text.Contains("read slower than", StringComparison.Ordinal));
    }

    [Fact]
    public async Task AClientThatKeepsReadingButBelowTheRateIsDropped()
    {
        // The deadline runs from the first byte, not from the latest write: a reader that never stops, at a quarter of
        // the rate, falls behind once the bytes flushed over the rate no longer cover the time since (some 3 s here).
        await using var server = ApiServer.Start(_store.Root, settings: new Dictionary<string, string>
        {
            ["Limits:MinResponseBytesPerSecond"] = (4 * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
            ["Limits:MinResponseGracePeriod"] = "00:00:01.001",
        });
        using var tcp = new TcpClient { ReceiveBufferSize = 64 * 1024 };
        await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET /layers/big/tar HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nConnection: close\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 200", await ReadHeadAsync(stream), StringComparison.Ordinal);
        var reading = ReadPacedAsync(stream, 1024 * 1024);

        var cancelled = await server.Logs.WaitForExportOutcomeAsync("big", "cancelled");

        Assert.Contains("read slower than", cancelled.MessageTemplate.Text, StringComparison.Ordinal);
        var read = (await reading).LongLength;
        Assert.True(read < BlobSize, $"the dropped client still got {read} bytes");
    }

    [Fact]
    public async Task AZstdRangeIsTimedFromItsFirstByteNotFromTheBodyMadeAgainBeforeIt()
    {
        // No byte of a zstd range exists until the body before it is made again (decision 0009), here held longer than
        // grace + buffered bytes / rate. That is the server's time, not the client's: one reading at 4x the rate is kept.
        const string layer = "zst";
        const string heldEntry = "a/held.bin";
        const int rangeStart = 1024 * 1024;
        using var store = TempLayerStore.Create()
            .AddLayer(layer)
            .AddPatternFile(layer, heldEntry, 1024)
            .AddFile(layer, "b/random.bin", RandomNumberGenerator.GetBytes(32 * 1024 * 1024));
        BlockingLayerStore? blocking = null;
        var clock = new MovableClock();
        await using var server = ApiServer.Start(
            store.Root,
            services => services
                .AddSingleton<TimeProvider>(clock)
                .DecorateLayerStore(inner => blocking = new BlockingLayerStore(inner, heldEntry, passFirst: 1)),
            settings: new Dictionary<string, string>
            {
                ["Limits:MinResponseBytesPerSecond"] = (4 * 1024 * 1024).ToString(CultureInfo.InvariantCulture),
                ["Limits:MinResponseGracePeriod"] = "00:00:01.001",
            });
        using var client = server.CreateClient();
        var path = $"/layers/{layer}/tar?compression=zstd";
        var body = await client.GetByteArrayAsync(new Uri(path, UriKind.Relative));
        await server.Logs.WaitForExportOutcomesAsync(layer, 1);

        // A fixed, small receive buffer: what the sockets hold (the kernel's send buffer, at most 4 MiB here) stays far
        // below the range, so the server's flushes wait for the client's pace.
        using var tcp = new TcpClient { ReceiveBufferSize = 64 * 1024 };
        await tcp.ConnectAsync(server.BaseAddress.Host, server.BaseAddress.Port);
        var stream = tcp.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: {server.BaseAddress.Authority}\r\nRange: bytes={rangeStart}-\r\nConnection: close\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 206", await ReadHeadAsync(stream), StringComparison.Ordinal);
        var reading = ReadPacedAsync(stream, 16 * 1024 * 1024);
        await blocking!.WaitUntilHeldAsync();

        // The server's own work before the range's first byte, as the guard's clock sees it: a clock started before it
        // is 9 s in at the first check while a flush waits, past a deadline of about 6 s (grace + buffered and read
        // bytes / rate).
        clock.MoveOn(TimeSpan.FromSeconds(9));
        blocking.Release();

        Assert.Equal(body[rangeStart..], await reading);
        Assert.DoesNotContain(server.Logs.Events, e => e.MessageTemplate.Text.Contains("read slower than", StringComparison.Ordinal));
    }

    // The system's clock, moved on at will: timers still fire in real time, timestamps jump.
    private sealed class MovableClock : TimeProvider
    {
        private long _ahead;

        public override long GetTimestamp() => System.GetTimestamp() + Interlocked.Read(ref _ahead);

        public void MoveOn(TimeSpan by) => Interlocked.Add(ref _ahead, (long)(by.TotalSeconds * TimestampFrequency));
    }

    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var head = new List<byte>();
        var one = new byte[1];
        while (!head.AsEnumerable().Reverse().Take(4).SequenceEqual("\n\r\n\r"u8.ToArray()))
        {
            Assert.Equal(1, await stream.ReadAsync(one));
            head.Add(one[0]);
        }

        return Encoding.ASCII.GetString([.. head]);
    }

    // Reads to the end or the server's reset at about bytesPerSecond: a slice each 10 ms, with no credit for time waited.
    private static async Task<byte[]> ReadPacedAsync(NetworkStream stream, int bytesPerSecond)
    {
        using var received = new MemoryStream();
        var slice = new byte[bytesPerSecond / 100];
        using var tick = new PeriodicTimer(TimeSpan.FromMilliseconds(10));
        try
        {
            for (int n; await tick.WaitForNextTickAsync() && (n = await stream.ReadAtLeastAsync(slice, slice.Length, throwOnEndOfStream: false)) > 0;)
            {
                received.Write(slice, 0, n);
            }
        }
        catch (IOException)
        {
            // A reset: the server dropped the connection.
        }

        return received.ToArray();
    }

    private static async Task<long> ReadToEndOrFailureAsync(NetworkStream stream)
    {
        var buffer = new byte[1024 * 1024];
        long total = 0;
        try
        {
            for (int n; (n = await stream.ReadAsync(buffer)) > 0;)
            {
                total += n;
            }
        }
        catch (IOException)
        {
            // A reset: the server dropped the connection.
        }

        return total;
    }

    [MethodImpl(MethodImplOptions.NoInlining)]
    private static WeakReference GuardedAndDisposedRequest()
    {
        var context = new DefaultHttpContext();
        context.Features.Set<IHttpResponseBodyFeature>(new StreamResponseBodyFeature(Stream.Null));
        ResponseRateGuard.Install(context, 1024, TimeSpan.FromSeconds(10), TimeProvider.System)!.Dispose();
        return new WeakReference(context);
    }

    // A connection whose earlier answers the client has not read: the response's headers are written when it starts,
    // as Kestrel writes them, and a flush waits until the test reads.
    private sealed class UnreadConnection : IHttpResponseBodyFeature
    {
        private readonly Pipe _socket = new(new PipeOptions(pauseWriterThreshold: 1, resumeWriterThreshold: 1));

        public Stream Stream => throw new NotSupportedException();

        public PipeWriter Writer => _socket.Writer;

        public async Task ReadAsync()
        {
            var read = await _socket.Reader.ReadAsync();
            _socket.Reader.AdvanceTo(read.Buffer.End);
        }

        public void DisableBuffering()
        {
        }

        public Task StartAsync(CancellationToken cancellationToken = default)
        {
            "HTTP/1.1 206 Partial Content\r\n\r\n"u8.CopyTo(_socket.Writer.GetSpan(64));
            _socket.Writer.Advance(32);
            return Task.CompletedTask;
        }

        public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) => throw new NotSupportedException();

        public Task CompleteAsync() => _socket.Writer.CompleteAsync().AsTask();
    }

    private sealed class CountingLifetime : IHttpRequestLifetimeFeature
    {
        public int Aborted { get; private set; }

        public CancellationToken RequestAborted { get; set; }

        public void Abort() => Aborted++;
    }

    private sealed class KestrelRate : IHttpMinResponseDataRateFeature
    {
        public MinDataRate? MinDataRate { get; set; }
    }
}
