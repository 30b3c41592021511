using System.Collections.Concurrent;
using Serilog.Events;

namespace LayerExportApi.Layers;

/// <summary>The requests whose body the server ended short of its <c>Content-Length</c> on purpose.</summary>
/// <remarks>
/// A failed plain tar ends in the incomplete-archive marker and a short body (decision 0006). Kestrel then reports
/// the short body as an unhandled application error; the export's own failure line already says what failed and
/// where, so that report is dropped for these requests, and only for them: any other short body stays an error.
/// </remarks>
internal sealed class IntendedShortBodies
{
    private const string KestrelCategory = "Microsoft.AspNetCore.Server.Kestrel";

    private readonly ConcurrentDictionary<string, byte> _requests = new(StringComparer.Ordinal);

    /// <summary>Records that <paramref name="httpContext"/>'s body will end short; forgotten when the response completes.</summary>
    public void Add(HttpContext httpContext)
    {
        var id = httpContext.TraceIdentifier;
        _requests[id] = 0;
        httpContext.Response.OnCompleted(() =>
        {
            _requests.TryRemove(id, out _);
            return Task.CompletedTask;
        });
    }

    /// <summary>True for Kestrel's report of a body this server ended short on purpose.</summary>
    public bool IsKestrelReportOfOne(LogEvent logEvent) =>
        logEvent.Exception is InvalidOperationException
        && logEvent.Properties.TryGetValue("SourceContext", out var source) && source is ScalarValue { Value: KestrelCategory }
        && logEvent.Properties.TryGetValue("TraceIdentifier", out var id) && id is ScalarValue { Value: string request }
        && _requests.ContainsKey(request);
}
