using System.IO.Pipelines;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Core.Features;

namespace LayerExportApi.Limits;

/// <summary>Drops a tar download whose client reads slower than the minimum rate, counting every byte the export hands over.</summary>
/// <remarks>
/// Kestrel's own check gives each flush the grace period plus its bytes over the rate, but it does not count
/// bytes written through <see cref="PipeWriter.GetMemory"/> and <see cref="PipeWriter.Advance"/>, which is how the
/// export writes. With the kernel's socket buffers (megabytes on loopback) a single flush can then wait longer
/// than the grace period for a client that reads at several times the minimum rate, and Kestrel dropped it: 64 KiB/s
/// readers after about 30 s with a 16 KiB/s minimum. Here a download is dropped once its flushes have waited for the
/// client, in all, longer than the grace period plus every byte flushed so far over the rate: a client that keeps up
/// with the rate never gets there, one that stops reading does once the bytes already in the buffers would have taken
/// that long. Only time a flush waits counts: while the export makes bytes (a zstd range making the whole body before
/// its start again, a store that stalls mid-body) the client has nothing to read, whereas a flush that waits before
/// the first byte (a range's headers behind answers a pipelining client left unread) is the client's time.
/// </remarks>
internal sealed class ResponseRateGuard : IDisposable
{
    private static readonly TimeSpan CheckEvery = TimeSpan.FromSeconds(1);

    private readonly HttpContext _httpContext;
    private readonly IHttpMinResponseDataRateFeature? _kestrelCheck;
    private readonly MinDataRate? _kestrelRate;
    private readonly double _bytesPerSecond;
    private readonly TimeSpan _grace;
    private readonly TimeProvider _clock;
    private readonly ITimer _timer;
    private readonly Lock _checking = new();
    private bool _disposed;
    private long _written;
    private long _flushed;
    private int _flushesPending;
    private long _pendingSince;
    private long _waited;

    private ResponseRateGuard(HttpContext httpContext, double bytesPerSecond, TimeSpan grace, TimeProvider clock)
    {
        _httpContext = httpContext;
        _kestrelCheck = httpContext.Features.Get<IHttpMinResponseDataRateFeature>();
        _kestrelRate = _kestrelCheck?.MinDataRate;
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

        var guard = new ResponseRateGuard(httpContext, bytesPerSecond, grace, clock);
        if (guard._kestrelCheck is { } kestrelCheck)
        {
            kestrelCheck.MinDataRate = null;
        }
        var body = httpContext.Features.GetRequiredFeature<IHttpResponseBodyFeature>();
        httpContext.Features.Set<IHttpResponseBodyFeature>(new GuardedBody(body, new CountingWriter(body.Writer, guard)));
        return guard;
    }

    /// <inheritdoc />
    /// <remarks>
    /// Waits for a check under way: once the request is over, Kestrel may hand its context to the connection's next
    /// request. Kestrel's own check comes back for what it writes after the body: a chunked body's last chunk, trailers.
    /// </remarks>
    public void Dispose()
    {
        _timer.Dispose();
        lock (_checking)
        {
            _disposed = true;
        }

        if (_kestrelCheck is { } kestrelCheck)
        {
            kestrelCheck.MinDataRate = _kestrelRate;
        }
    }

    /// <summary>Drops the download if it is behind its deadline; the timer's work, every second.</summary>
    internal void Check()
    {
        lock (_checking)
        {
            var pendingSince = Volatile.Read(ref _pendingSince);
            if (_disposed || pendingSince == 0 || Volatile.Read(ref _flushesPending) == 0 || Tripped)
            {
                return;
            }

            var waited = _clock.GetElapsedTime(0, Interlocked.Read(ref _waited)) + _clock.GetElapsedTime(pendingSince);
            if (IsBehind(waited, Volatile.Read(ref _flushed), _bytesPerSecond, _grace))
            {
                Tripped = true;
                _httpContext.Abort();
            }
        }
    }

    /// <summary>Whether a download whose flushes waited <paramref name="elapsed"/> for its client, with <paramref name="flushed"/> bytes handed over, is past its deadline.</summary>
    /// <remarks>In seconds, as doubles: in stopwatch ticks, bytes over a low rate pass a long's range (after some 9 GB at 1 byte/s) and wrapped to a deadline long gone.</remarks>
    internal static bool IsBehind(TimeSpan elapsed, long flushed, double bytesPerSecond, TimeSpan grace) =>
        elapsed.TotalSeconds > grace.TotalSeconds + (flushed / bytesPerSecond);

    // Counts what the export writes; a flush makes it count toward the deadline, and the time it is pending is the
    // client's.
    private sealed class CountingWriter(PipeWriter inner, ResponseRateGuard guard) : PipeWriter
    {
        public override bool CanGetUnflushedBytes => inner.CanGetUnflushedBytes;

        public override long UnflushedBytes => inner.UnflushedBytes;

        public override void Advance(int bytes)
        {
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
            var since = guard._clock.GetTimestamp();
            Volatile.Write(ref guard._pendingSince, since);
            Interlocked.Increment(ref guard._flushesPending);
            try
            {
                return await flush.ConfigureAwait(false);
            }
            finally
            {
                // Cleared before it is added: a check in between counts this wait once at most.
                Volatile.Write(ref guard._pendingSince, 0);
                Interlocked.Add(ref guard._waited, guard._clock.GetTimestamp() - since);
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
