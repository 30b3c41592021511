using LayerExportApi.Hosting;
using LayerExportApi.Layers;
using LayerExportApi.Security;
using Serilog;

Log.Logger = new LoggerConfiguration().WriteTo.Console().CreateBootstrapLogger();
try
{
    // Settings are read once, at start, where they are validated: reloading them on change would watch every
    // directory under the working directory, the whole file system for a service started in "/".
    var builder = WebApplication.CreateBuilder([.. args, "--hostBuilder:reloadConfigOnChange=false"]);

    // Settings: the appsettings.json shipped beside the server under every other source, whatever the working directory.
    builder.AddShippedSettings();

    // Logging: Serilog, configured from the "Serilog" section.
    builder.AddLayerExportLogging();

    // Listening: loopback TCP unless --urls says otherwise; optionally a Unix domain socket ("Listen").
    builder.AddListeners();

    // Authentication: optional bearer tokens known by their SHA-256 ("Authentication"); health and API documentation stay open.
    builder.AddTokenAuthentication();

    // Limits ("Limits"): connections, concurrent exports with a bounded queue, minimum client read rate, shutdown grace.
    builder.AddLimits();

    // The layer store: options from "LayerStore", validated at start; one class per on-disk layout.
    builder.AddLayerStore();

    // Codecs: gzip and zstd settings ("Export"), validated at start; they are part of what makes the bytes.
    builder.AddCompression();

    // Digests: the cache directory ("DigestCache") and the descriptors computed once and kept there.
    builder.AddDigestCache();

    // Compressed bodies: kept under their digest and read back by later downloads, when "BlobCache:Directory" is set.
    builder.AddBlobCache();

    // Start-up checks of the store: can this process see the opaque marks kept in trusted.* xattrs?
    builder.AddStoreChecks();

    // The pre-stream phase: transient store errors retried, a time limit (Polly); never around a body.
    builder.AddExportPreparation();

    // Health: /healthz (alive) and /readyz (store readable).
    builder.AddHealthProbes();

    // Metrics: OpenTelemetry instruments of the exports and the runtime, scraped by Prometheus at /metrics.
    builder.AddExportMetrics();

    // Errors: every failure before the first byte is an RFC 7807 problem, never a stack trace.
    builder.AddProblemResponses();

    // API documentation: OpenAPI document (with the bearer scheme when tokens are configured) and Swagger UI.
    builder.AddApiDocumentation();

    // Disposed on every way out, so that the log lines still queued for the console are written.
    await using var app = builder.Build();

    // The store is opened now, so a root that does not hold the configured layout stops start-up.
    app.OpenLayerStore();

    // The digest cache too: a directory made unsafe later then costs only its entries, never a request.
    app.OpenDigestCache();

    // And the blob cache, likewise: its directory is checked now, not by the first compressed download.
    app.OpenBlobCache();

    // zstd: the native libzstd shipped with the server where it emits the managed port's bytes; the log says which.
    app.ReportZstdImplementation();

    // A descriptor limit near what the idle server holds: said once now, since under load the runtime may abort.
    app.WarnOfALowDescriptorLimit();

    // Connections: bounded by the descriptor limit unless configured, so idle ones cannot starve exports or the runtime.
    app.ReportConnectionLimit();

    // An unprivileged process over an overlay-form store refuses to start (or names what it cannot judge).
    app.CheckOpaqueMarksVisible();

    // Errors before the body, whatever caused them, are answered as problem+json.
    app.UseProblemResponses();

    // One log line per request, with the layer ID and the path as sent.
    app.UseLayerExportRequestLogging();

    // Over loopback, only 'localhost' and addresses in Host: a browser page cannot rebind its domain to us.
    app.UseLoopbackHostCheck();

    // Bearer token on every request but the health probes and the API documentation.
    app.UseTokenAuthentication();

    // Endpoints: probes, metrics, API documentation, the layers (an export takes a slot once its request is checked).
    app.MapHealthProbes();
    app.MapExportMetrics();
    app.MapApiDocumentation();
    app.MapLayerEndpoints();
    await app.RunAsync();
    return 0;
}
// The tests' host factory stops this entry point with HostAbortedException once it holds the built host: no failure.
catch (Exception e) when (e is not HostAbortedException)
{
    StartupFailure.Report(e);
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync();
}

/// <summary>The entry point, visible to the integration tests' host factory.</summary>
public partial class Program;
