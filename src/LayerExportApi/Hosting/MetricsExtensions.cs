using LayerExportApi.Layers;
using OpenTelemetry.Metrics;

namespace LayerExportApi.Hosting;

/// <summary>Metrics through OpenTelemetry, scraped by Prometheus at <c>/metrics</c>.</summary>
internal static class MetricsExtensions
{
    /// <summary>The scrape path.</summary>
    public const string Path = "/metrics";

    /// <summary>Registers the export instruments and the Prometheus exporter; ASP.NET Core's, Kestrel's and the runtime's meters come too.</summary>
    /// <remarks>The runtime's meter (GC, heap, thread pool, CPU) is what an operator checks a memory or latency limit against.</remarks>
    public static WebApplicationBuilder AddExportMetrics(this WebApplicationBuilder builder)
    {
        builder.Services.AddSingleton<ExportMetrics>();
        builder.Services.AddOpenTelemetry().WithMetrics(static metrics => metrics
            .AddMeter(ExportMetrics.MeterName, "Microsoft.AspNetCore.Hosting", "Microsoft.AspNetCore.Server.Kestrel", "System.Runtime")
            .AddPrometheusExporter(static prometheus => prometheus.ScrapeResponseCacheDurationMilliseconds = 0));
        return builder;
    }

    /// <summary>Serves the scrape endpoint; with tokens configured it needs one like any other endpoint but health.</summary>
    public static WebApplication MapExportMetrics(this WebApplication app)
    {
        // The instruments exist once made: the gauges of slots and queue are scraped from start, not from the first export.
        app.Services.GetRequiredService<ExportMetrics>();
        app.MapPrometheusScrapingEndpoint(Path).WithMetadata(ReadOnlyMethods.Metadata);
        return app;
    }
}
