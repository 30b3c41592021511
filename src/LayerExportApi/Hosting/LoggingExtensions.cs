using System.Reflection;
using LayerExport.Core;
using LayerExportApi.Layers;
using Serilog;
using Serilog.Core;
using Serilog.Events;

namespace LayerExportApi.Hosting;

/// <summary>Serilog wiring: configuration-driven logger and one request line per HTTP request.</summary>
internal static class LoggingExtensions
{
    /// <summary>Replaces the default logging with Serilog read from configuration.</summary>
    public static WebApplicationBuilder AddLayerExportLogging(this WebApplicationBuilder builder)
    {
        // preserveStaticLogger keeps each host's logger its own, so tests can start several hosts in one process.
        builder.Services.AddSingleton<IntendedShortBodies>();
        builder.Services.AddSerilog(
            (services, logger) => ReadSettings(logger, builder.Configuration)
                .ReadFrom.Services(services)
                .Enrich.FromLogContext()
                .Enrich.With<ControlCharacterEscaper>()
                .Filter.ByExcluding(services.GetRequiredService<IntendedShortBodies>().IsKestrelReportOfOne),
            preserveStaticLogger: true);
        return builder;
    }

    /// <summary>Logs each request once, with its layer ID when it has one; a request its client left is a 499.</summary>
    public static WebApplication UseLayerExportRequestLogging(this WebApplication app)
    {
        app.UseSerilogRequestLogging(options =>
        {
            // Without a logger the middleware writes to the static bootstrap logger, which ignores the
            // configured sinks and levels because the host's logger is kept out of Log.Logger.
            options.Logger = app.Services.GetRequiredService<Serilog.ILogger>();
            options.EnrichDiagnosticContext = static (context, http) =>
            {
                // The route value is Kestrel's decoding, which reads a%2Fb and a%252Fb alike. A path that names no
                // layer logs none: its route value would read as the name another path stands for ("100%" as 100%25's).
                if (http.GetRouteValue("id") is string id && LayerPathSegment.TryRead(http.Request, id) is { } layer)
                {
                    context.Set("LayerId", layer);
                }

                if (http.Items[ExportOutcome.Item] is string outcome)
                {
                    context.Set("ExportOutcome", outcome);
                }
            };

            // The path as sent, as an access log shows it: Kestrel's decoded path logs two names alike (RequestTarget).
            options.GetMessageTemplateProperties = static (http, _, elapsed, status) =>
            [
                new LogEventProperty("RequestMethod", new ScalarValue(http.Request.Method)),
                new LogEventProperty("RequestPath", new ScalarValue(RequestTarget.PathAsSent(http.Request))),
                new LogEventProperty("StatusCode", new ScalarValue(status)),
                new LogEventProperty("Elapsed", new ScalarValue(elapsed)),
            ];

            // A 200 whose body was aborted is a failure, whatever its status line said; one cut by a stop is the
            // operator's doing, as the export's own line says. Passing health probes, polled every few seconds, only
            // show at Verbose.
            options.GetLevel = static (http, _, exception) =>
                exception is not null || http.Items[ExportOutcome.Item] is ExportOutcome.Failed ? LogEventLevel.Error
                : http.Items[ExportOutcome.Item] is ExportOutcome.Aborted ? LogEventLevel.Warning
                : http.Response.StatusCode >= 500 ? LogEventLevel.Error
                : http.Response.StatusCode == StatusCodes.Status200OK && HealthExtensions.IsProbe(http.Request.Path) ? LogEventLevel.Verbose
                : LogEventLevel.Information;
        });

        // A client that hangs up while the answer is being worked out (a descriptor computed, a layer surveyed) is
        // not a server error: it is logged as 499, as ASP.NET Core names it, not as a 500 with a stack trace. An abort
        // that came once the stop had begun is the server's (the shutdown timeout ran out first), logged as the
        // export's would be; a client that left before, whose request the stop only ends, stays a 499.
        var stopping = app.Lifetime.ApplicationStopping;
        app.Use(async (context, next) =>
        {
            var leftBeforeStop = false;
            using var leaving = context.RequestAborted.Register(() => leftBeforeStop = !stopping.IsCancellationRequested);
            try
            {
                await next(context);
            }
            catch (OperationCanceledException) when (context.RequestAborted.IsCancellationRequested && !context.Response.HasStarted)
            {
                if (stopping.IsCancellationRequested && !leftBeforeStop)
                {
                    context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                    context.Items[ExportOutcome.Item] = ExportOutcome.Aborted;
                }
                else
                {
                    context.Response.StatusCode = StatusCodes.Status499ClientClosedRequest;
                }
            }
        });
        return app;
    }

    // Serilog refuses a bad setting (an unknown level, an assembly it cannot load) by an exception whose stack trace
    // tells an operator nothing; its message names the value, which is all that is needed. A setting of a sink inside
    // a wrapper (the shipped console inside Async) is applied by reflection, which wraps the refusal once more.
    private static LoggerConfiguration ReadSettings(LoggerConfiguration logger, IConfiguration configuration)
    {
        try
        {
            return logger.ReadFrom.Configuration(configuration);
        }
        catch (Exception e) when (Refusal(e) is { } refusal)
        {
            throw new StartupCheckException($"the Serilog section cannot be applied: {refusal.Message.TrimEnd()}");
        }
    }

    private static Exception? Refusal(Exception e) => e switch
    {
        InvalidOperationException or ArgumentException or FormatException or IOException => e,
        TargetInvocationException { InnerException: { } inner } => Refusal(inner),
        _ => null,
    };

    // The request path, the layer ID of the route and whatever else a request puts into a property would otherwise
    // reach the sinks raw: a decoded %0A in a path could start a forged log line. Exception messages of our own
    // escape what they quote (LayerExportException, MetadataText).
    private sealed class ControlCharacterEscaper : ILogEventEnricher
    {
        public void Enrich(LogEvent logEvent, ILogEventPropertyFactory propertyFactory)
        {
            List<LogEventProperty>? escaped = null;
            foreach (var (name, value) in logEvent.Properties)
            {
                if (value is ScalarValue { Value: string text } && MessageText.Escape(text) is var safe && !ReferenceEquals(safe, text))
                {
                    (escaped ??= []).Add(new LogEventProperty(name, new ScalarValue(safe)));
                }
            }

            foreach (var property in escaped ?? [])
            {
                logEvent.AddOrUpdateProperty(property);
            }
        }
    }
}
