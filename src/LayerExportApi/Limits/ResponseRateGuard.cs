using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace LayerExportApi.Limits;

/// <summary>Drops a tar download whose client reads slower than the minimum rate, counting every byte the export hands over.</summary>
/// <remarks>
/// Kestrel's own check gives each flush the grace period plus its bytes over the rate, but it does not count
/// bytes written through <see cref="PipeWriter.GetMemory"/> and <see cref="PipeWriter.Advance"/>, which is how the
/// export writes. With the kernel's socket buffers (megabytes on loopback) a single flush can then wait longer
/// than the grace period for a client that reads at several times the minimum rate, and Kestrel dropped it: 64 KiB/s
/// readers after about 30 s with a 16 KiB/s minimum. Here the deadline is the first byte, plus the grace period,
/// plus every byte flushed so far over the rate: a client that keeps up with the rate never reaches it, one that
/// stops reading reaches it once the bytes already in the buffers would have taken that long. The time before the
/// first byte is the server's own (a zstd range makes the whole body before it again), so it does not count, unless
/// a flush waits then: a compressed range flushes its headers first, and behind earlier answers a client left unread
/// on the connection that flush is the client's time, timed from when it began to wait (grace period, no bytes).
/// </remarks>
internal sealed class ResponseRateGuard : IDisposable
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(1);

    private readonly HttpContext _httpContext;
    private readonly double _bytesPerSecond;
    private readonly TimeSpan _grace;
    private readonly TimeProvider _clock;
    private long _started;
    private readonly ITimer _timer;
    private readonly Lock _checking = new();
    private bool _disposed;
    private long _written;
    private long _flushed;
    private int _flushesPending;

    private ResponseRateGuard(HttpContext httpContext, double bytesPerSecond, TimeSpan grace, TimeProvider clock)
    {
        _httpContext = httpContext;
        _bytesPerSecond = bytesPerSecond;
        _grace = grace;
        _clock = clock;
        _timer = clock.CreateTimer(static state => ((ResponseRateGuard)state!).Check(), this, CheckEvery, CheckEvery);
    }

    /// <summary>True once the guard dropped the download.</summary>
    public bool Tripped { get; private set; }

    /// <summary>Guards the response of <paramref name="httpContext"/> in place of Kestrel's check; null when the minimum rate is off.</summary>
    public static ResponseRateGuard? Install(HttpContext httpContext, double bytesPerSecond, TimeSpan grace, TimeProvider clock)
    {
        if (bytesPerSecond <= 0)
        {
            return null;
        }

        if (httpContext.Features.Get<IHttpMinResponseDataRateFeature>() is { } kestrelCheck)
        {
            kestrelCheck.MinDataRate = null;
        }

        var guard = new ResponseRateGuard(httpContext, bytesPerSecond, grace, clock);
        var body = httpContext.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        httpContext.Features.Set<IHttpResponseBodyFeature>(new GuardedBody(body, new CountingWriter(body.Writer, guard)));
        return guard;
    }

    /// <inheritdoc />
    /// <remarks>Waits for a check under way: once the request is over, Kestrel may hand its context to the connection's next request.</remarks>
    public void Dispose()
    {
        _timer.Dispose();
        lock (_checking)
        {
            _disposed = true;
        }
    }

    /// <summary>Drops the download if it is behind its deadline; the timer's work, every second.</summary>
    internal void Check()
    {
        lock (_checking)
        {
            var started = Volatile.Read(ref _started);
            if (_disposed || started == 0 || Volatile.Read(ref _flushesPending) == 0 || Tripped)
            {
                return;
            }

            if (IsBehind(_clock.GetElapsedTime(started), Volatile.Read(ref _flushed), _bytesPerSecond, _grace))
            {
                Tripped = true;
                _httpContext.Abort();
            }
        }
    }

    /// <summary>Whether a download <paramref name="elapsed"/> old, with <paramref name="flushed"/> bytes handed over, is past its deadline.</summary>
    /// <remarks>In seconds, as doubles: in stopwatch ticks, bytes over a low rate pass a long's range (after some 9 GB at 1 byte/s) and wrapped to a deadline long gone.</remarks>
    internal static bool IsBehind(TimeSpan elapsed, long flushed, double bytesPerSecond, TimeSpan grace) =>
        elapsed.TotalSeconds > grace.TotalSeconds + (flushed / bytesPerSecond);

    // Counts what the export writes, starting the clock at its first byte; a flush makes it count toward the deadline
    // and is pending until it completes.
    private sealed class CountingWriter(PipeWriter inner, ResponseRateGuard guard) : PipeWriter
    {
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes)
        {
            if (guard._written == 0 && bytes > 0)
            {
                Volatile.Write(ref guard._started, guard._clock.GetTimestamp());
            }

            guard._written += bytes;
            inner.Advance(bytes);
        }

        public override Memory<byte> GetMemory(int sizeHint = 0) => inner.GetMemory(sizeHint);

        public override Span<byte> GetSpan(int sizeHint = 0) => inner.GetSpan(sizeHint);

        public override ValueTask<FlushResult> FlushAsync(CancellationToken cancellationToken = default)
        {
            Volatile.Write(ref guard._flushed, guard._written);
            var flush = inner.FlushAsync(cancellationToken);
            return flush.IsCompleted ? flush : AwaitAsync(flush);
        }

        public override void CancelPendingFlush() => inner.CancelPendingFlush();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        private async ValueTask<FlushResult> AwaitAsync(ValueTask<FlushResult> flush)
        {
            if (guard._written == 0)
            {
                // Nothing of the body yet, but the client leaves the headers (and what it left of earlier answers on
                // the connection) waiting: that is its time. The first byte starts the clock again.
                Volatile.Write(ref guard._started, guard._clock.GetTimestamp());
            }

            Interlocked.Increment(ref guard._flushesPending);
            try
            {
                return await flush.ConfigureAwait(false);
            }
            finally
            {
                Interlocked.Decrement(ref guard._flushesPending);
            }
        }
    }

    private sealed class GuardedBody(IHttpResponseBodyFeature inner, PipeWriter writer) : IHttpResponseBodyFeature
    {
        public Stream Stream => inner.Stream;

        public PipeWriter Writer => writer;

        public void DisableBuffering() => inner.DisableBuffering();

        public Task StartAsync(CancellationToken cancellationToken = default) => inner.StartAsync(cancellationToken);

        public Task SendFileAsync(string path, long offset, long? count, CancellationToken cancellationToken = default) =>
            inner.SendFileAsync(path, offset, count, cancellationToken);

        public Task CompleteAsync() => inner.CompleteAsync();
    }
}
