using LayerExport.Core.Native;
using LayerExport.Core.Tar;
using LayerExportApi.Limits;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Server.Kestrel.Transport.Sockets;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>Limits from <c>Limits</c>: connections, concurrent exports, the minimum rate a client must read at, the shutdown grace.</summary>
internal static partial class LimitsExtensions
{
    /// <summary>Bytes an HTTP/1.1 connection holds unsent before a flush waits: one of the tar writer's flush batches.</summary>
    /// <remarks>
    /// File reads land in arrays the pipe rents from the shared pool for its segments, whose few kept arrays many
    /// connections outgrow. Two batches unsent kept about one more array of each connection in flight, and the arrays
    /// the pool could not keep were garbage on the large object heap: 64 downloads at once peaked at 345-485 MB instead
    /// of 250-260 MB, and single downloads were no faster on this machine (decision 0015, "Session 41").
    /// </remarks>
    public const long UnsentBytesPerConnection = TarStreamWriter.FlushThreshold;

    /// <summary>The longest HTTP/1.1 request line taken: beyond it, Kestrel answers 414 itself.</summary>
    /// <remarks>
    /// A parent chain named in full must fit: Docker stacks at most 125 layers, and 124 parents of the longest IDs (128
    /// characters) make a line of 17 KiB, which Kestrel's default of 8 KiB refused. An HTTP/2 request's path is bounded
    /// by its header block alone, 32 KiB, so both protocols now take about the same requests.
    /// </remarks>
    public const int MaxRequestLineBytes = 32 * 1024;

    private const ulong RecommendedDescriptorLimit = 4096;

    /// <summary>Binds <c>Limits</c>, validates it at start and applies it to the gate, Kestrel and the host.</summary>
    public static WebApplicationBuilder AddLimits(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<LimitsOptions>()
            .BindConfiguration(LimitsOptions.SectionName)
            .ValidateDataAnnotations()
            .Validate(static o => LimitsOptions.IsUsableRate(o.MinResponseBytesPerSecond), LimitsOptions.MinResponseRateMessage)
            .ValidateOnStart();
        builder.Services.AddSingleton<ExportGate>();
        builder.Services.AddSingleton<ExportAdmission>();

        // A stalled or very slow reader is dropped. An HTTP/2 stream's own pipe holds about 4 KiB before a flush waits,
        // a threshold Kestrel fixes whatever MaxResponseBufferSize is (decision 0006, "Session 40").
        builder.Services.AddOptions<KestrelServerOptions>().Configure<IOptions<LimitsOptions>>(static (kestrel, limits) =>
        {
            var rate = limits.Value.MinResponseBytesPerSecond;
            kestrel.Limits.MinResponseDataRate = rate > 0 ? new MinDataRate(rate, limits.Value.MinResponseGracePeriod) : null;
            kestrel.Limits.MaxResponseBufferSize = 64 * 1024;
            kestrel.Limits.MaxRequestLineSize = MaxRequestLineBytes;
            kestrel.Limits.MaxConcurrentConnections = limits.Value.Connections
                ?? ConnectionLimit.Default(DescriptorLimit.Current(), DescriptorLimit.Held());
        });

        // An HTTP/1.1 response is written into its connection's socket pipe, which has a bound of its own.
        builder.Services.Configure<SocketTransportOptions>(static socket => socket.MaxWriteBufferSize = UnsentBytesPerConnection);

        // On a stop, Kestrel stops accepting, lets running responses finish within this time, then aborts them.
        builder.Services.AddOptions<HostOptions>().Configure<IOptions<LimitsOptions>>(static (host, limits) =>
            host.ShutdownTimeout = limits.Value.ShutdownTimeout);
        return builder;
    }

    /// <summary>Warns at start when the descriptor limit leaves little room beyond what the idle server holds.</summary>
    /// <remarks>
    /// The server holds about 285 descriptors idle and a few for each export and connection; near the limit an export
    /// is refused (503), and the runtime itself may abort when it cannot make a thread. Nothing catches that later.
    /// </remarks>
    public static WebApplication WarnOfALowDescriptorLimit(this WebApplication app)
    {
        if (DescriptorLimit.Current() is { } limit && limit < RecommendedDescriptorLimit)
        {
            LowDescriptorLimit(app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(LimitsExtensions)), limit, RecommendedDescriptorLimit);
        }

        return app;
    }

    /// <summary>Says at start how many connections are accepted at once when the limit follows the descriptor limit.</summary>
    public static WebApplication ReportConnectionLimit(this WebApplication app)
    {
        var limits = app.Services.GetRequiredService<IOptions<LimitsOptions>>().Value;
        if (limits.Connections is null
            && app.Services.GetRequiredService<IOptions<KestrelServerOptions>>().Value.Limits.MaxConcurrentConnections is { } connections)
        {
            var logger = app.Services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(LimitsExtensions));
            var limit = DescriptorLimit.Current();
            ConnectionsFollowDescriptorLimit(logger, connections, limit);
        }

        return app;
    }

    /// <summary>Marks an endpoint whose exports take a slot (<see cref="ExportAdmission"/>), for its API description.</summary>
    public static TBuilder RequireExportSlot<TBuilder>(this TBuilder builder)
        where TBuilder : IEndpointConventionBuilder => builder.WithMetadata(ExportGateMetadata.Instance);

    [LoggerMessage(Level = LogLevel.Warning, Message = "The file descriptor limit is {Limit}: under load exports may be refused or the runtime may abort; raise it to at least {Recommended} (ulimit -n, systemd LimitNOFILE=)")]
    private static partial void LowDescriptorLimit(ILogger logger, ulong limit, ulong recommended);

    [LoggerMessage(Level = LogLevel.Information, Message = "Accepting at most {Connections} connections at once: half the file descriptors the limit of {Limit} leaves free (Limits:Connections sets it)")]
    private static partial void ConnectionsFollowDescriptorLimit(ILogger logger, long connections, ulong? limit);
}
