using LayerExportApi.Health;
using Microsoft.AspNetCore.Diagnostics.HealthChecks;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace LayerExportApi.Hosting;

/// <summary><c>/healthz</c> (the process answers) and <c>/readyz</c> (the store is readable); both open to anyone and never queued.</summary>
internal static class HealthExtensions
{
    /// <summary>The liveness path.</summary>
    public const string LivenessPath = "/healthz";

    /// <summary>The readiness path.</summary>
    public const string ReadinessPath = "/readyz";

    private const string ReadyTag = "ready";

    /// <summary>True for the two probe paths.</summary>
    public static bool IsProbe(PathString path) => path == LivenessPath || path == ReadinessPath;

    /// <summary>Registers the readiness check of the store.</summary>
    public static WebApplicationBuilder AddHealthProbes(this WebApplicationBuilder builder)
    {
        // One instance: it shares a probe still running with the probes that come after it.
        builder.Services.AddSingleton<StoreReadinessCheck>();
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddHealthChecks().AddCheck<StoreReadinessCheck>("store", tags: [ReadyTag]);
        return builder;
    }

    /// <summary>Maps both probes, without authentication.</summary>
    public static WebApplication MapHealthProbes(this WebApplication app)
    {
        // MapHealthChecks answers every method; these are read like any other resource, so another method is a 405.
        app.MapHealthChecks(LivenessPath, new HealthCheckOptions { Predicate = static _ => false, ResponseWriter = HealthResponses.WriteAsync })
            .WithMetadata(ReadOnlyMethods.Metadata)
            .AllowAnonymous();
        app.MapHealthChecks(ReadinessPath, new HealthCheckOptions { Predicate = static c => c.Tags.Contains(ReadyTag), ResponseWriter = HealthResponses.WriteAsync })
            .WithMetadata(ReadOnlyMethods.Metadata)
            .AllowAnonymous();
        return app;
    }
}
