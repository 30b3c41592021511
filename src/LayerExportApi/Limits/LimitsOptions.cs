using System.ComponentModel.DataAnnotations;

namespace LayerExportApi.Limits;

/// <summary>The configuration section <c>Limits</c>: concurrent exports, slow clients, shutdown.</summary>
internal sealed class LimitsOptions
{
    /// <summary>The section name.</summary>
    public const string SectionName = "Limits";

    /// <summary>What <see cref="MinResponseBytesPerSecond"/> takes.</summary>
    public const string MinResponseRateMessage = "Limits:MinResponseBytesPerSecond must be 0 (no check) or a finite number of bytes per second, 1 or more.";

    /// <summary>Client connections open at once, over every listener; null: half the file descriptors the server leaves free at start.</summary>
    /// <remarks>Beyond it Kestrel closes a new connection at once: idle connections must not take the descriptors exports and the runtime need.</remarks>
    [Range(1, int.MaxValue, ErrorMessage = "Limits:Connections must be 1 to 2147483647, or unset to follow the file descriptor limit.")]
    public int? Connections { get; set; }

    /// <summary>Tar downloads and descriptor requests (GET and HEAD of <c>/layers/{id}/tar</c> and <c>/descriptor</c>) served at once.</summary>
    [Range(1, 100_000, ErrorMessage = "Limits:ConcurrentExports must be 1 to 100000.")]
    public int ConcurrentExports { get; set; } = 64;

    /// <summary>Tar downloads and descriptor requests that may wait for a slot, oldest first; beyond them 503 with Retry-After.</summary>
    [Range(0, 1_000_000, ErrorMessage = "Limits:QueuedExports must be 0 to 1000000.")]
    public int QueuedExports { get; set; } = 256;

    /// <summary>How long a download may wait in the queue for a slot; then 503 with Retry-After, like a full queue.</summary>
    [Range(typeof(TimeSpan), "00:00:00.001", "01:00:00", ErrorMessage = "Limits:QueueTimeout must be 00:00:00.001 to 01:00:00.")]
    public TimeSpan QueueTimeout { get; set; } = TimeSpan.FromSeconds(60);

    /// <summary>Seconds a refused client is told to wait (<c>Retry-After</c>).</summary>
    [Range(1, 86_400, ErrorMessage = "Limits:RetryAfterSeconds must be 1 to 86400.")]
    public int RetryAfterSeconds { get; set; } = 10;

    /// <summary>
    /// Least rate, in bytes per second, a client must read a response at; 0 turns the check off. A tar download is
    /// dropped once its flushes have waited for the client, in all, past grace period + bytes flushed / rate (ResponseRateGuard), so a
    /// reader that stops with the socket buffers full (a few MiB) is dropped after about buffered bytes / rate:
    /// some 5 minutes at the default 16 KiB/s. Under 1 byte/s, Kestrel's write deadline of every other response
    /// (its bytes over the rate) passes what a TimeSpan holds, and those responses fail (see <see cref="IsUsableRate"/>).
    /// </summary>
    [Range(0, double.MaxValue, ErrorMessage = MinResponseRateMessage)]
    public double MinResponseBytesPerSecond { get; set; } = 16 * 1024;

    /// <summary>Time a download is given on top of its bytes over the rate (more than 1 second).</summary>
    [Range(typeof(TimeSpan), "00:00:01.001", "01:00:00", ErrorMessage = "Limits:MinResponseGracePeriod must be more than 00:00:01 and at most 01:00:00.")]
    public TimeSpan MinResponseGracePeriod { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long running exports may go on after a stop was asked for; then they are aborted.</summary>
    [Range(typeof(TimeSpan), "00:00:00", "1.00:00:00", ErrorMessage = "Limits:ShutdownTimeout must be 00:00:00 to 1.00:00:00 (a day).")]
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Whether <paramref name="bytesPerSecond"/> is 0 or at least 1 byte per second; <see cref="RangeAttribute"/> tells the rest.</summary>
    public static bool IsUsableRate(double bytesPerSecond) => bytesPerSecond is not (> 0 and < 1);
}
