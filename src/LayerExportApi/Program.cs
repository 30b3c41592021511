using LayerExport.Core.Store;
using LayerExportApi.Hosting;
using LayerExportApi.Layers;
using Microsoft.Extensions.Options;
using Serilog;

Log.Logger = new LoggerConfiguration().WriteTo.Console().CreateBootstrapLogger();
try
{
    var builder = WebApplication.CreateBuilder(args);

    // Logging: Serilog, configured from the "Serilog" section.
    builder.AddLayerExportLogging();

    // Listening: loopback only unless --urls (or ASPNETCORE_URLS) says otherwise.
    builder.ListenOnLoopbackByDefault();

    // The layer store: options from "LayerStore", validated at start; one class per on-disk layout.
    builder.AddLayerStore();

    // The pre-stream phase: transient store errors retried, a time limit (Polly); never around a body.
    builder.AddExportPreparation();

    // Errors: every failure before the first byte is an RFC 7807 problem, never a stack trace.
    builder.Services.AddProblemDetails();

    // API documentation: OpenAPI document and Swagger UI.
    builder.Services.AddApiDocumentation();

    var app = builder.Build();

    // The store is opened now, so a root that does not hold the configured layout stops start-up.
    app.Services.GetRequiredService<ILayerStore>();
    app.UseExceptionHandler();
    app.UseStatusCodePages();
    app.UseLayerExportRequestLogging();
    app.MapApiDocumentation();
    app.MapLayerEndpoints();
    await app.RunAsync();
    return 0;
}
catch (OptionsValidationException e)
{
    Log.Fatal("LayerExport cannot start: {Reason}", string.Join(" ", e.Failures));
    return 1;
}
catch (LayerStoreException e)
{
    Log.Fatal("LayerExport cannot start: LayerStore:Root is not a store of the configured LayerStore:Layout. {Reason}", e.Message);
    return 1;
}
catch (Exception e) when (e is not HostAbortedException)
{
    Log.Fatal(e, "LayerExport could not start: {Reason}", e.Message);
    return 1;
}
finally
{
    await Log.CloseAndFlushAsync();
}

/// <summary>The entry point, visible to the integration tests' host factory.</summary>
public partial class Program;
