using LayerExport.Core.Export;
using LayerExportApi.Layers;
using LayerExportApi.Limits;
using Microsoft.Extensions.Options;
using Polly;
using Polly.Retry;

namespace LayerExportApi.Hosting;

/// <summary>Polly around the pre-stream phase: retries of transient store errors and a time limit.</summary>
internal static class ResilienceExtensions
{
    /// <summary>Registers <see cref="ExportPreparation"/> with its pipeline built once from <c>LayerStore:Access</c>.</summary>
    public static WebApplicationBuilder AddExportPreparation(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<StoreAccessOptions>()
            .BindConfiguration(StoreAccessOptions.SectionName)
            .ValidateDataAnnotations()
            .ValidateOnStart();
        builder.Services.AddSingleton(static services => new StoreReads(
            services.GetRequiredService<IOptions<LimitsOptions>>().Value.ConcurrentExports,
            services.GetRequiredService<IOptions<StoreAccessOptions>>().Value.PrepareTimeout,
            services.GetService<TimeProvider>() ?? TimeProvider.System,
            services.GetRequiredService<IHostApplicationLifetime>(),
            services.GetRequiredService<ILogger<StoreReads>>(),
            new StoreThreads(StoreThreads.IdleLifetime)));
        builder.Services.AddSingleton(static services =>
        {
            var options = services.GetRequiredService<IOptions<StoreAccessOptions>>().Value;
            // The time limit runs on the host's clock where it registers one: a test holds it instead of sleeping past it.
            var pipeline = new ResiliencePipelineBuilder { TimeProvider = services.GetService<TimeProvider>() ?? TimeProvider.System }
                .AddTimeout(options.PrepareTimeout);

            // RetryAttempts = 0 means no retries; Polly's retry strategy refuses fewer than one attempt.
            if (options.RetryAttempts > 0)
            {
                pipeline.AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = new PredicateBuilder().Handle<Exception>(ExportPreparation.IsTransient),
                    MaxRetryAttempts = options.RetryAttempts,
                    Delay = options.RetryDelay,
                    BackoffType = DelayBackoffType.Exponential,
                });
            }

            return new ExportPreparation(services.GetRequiredService<LayerExporter>(), pipeline.Build(), options.ReuseLastSurvey, services.GetRequiredService<StoreReads>());
        });
        return builder;
    }
}
