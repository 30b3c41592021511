using LayerExport.Core.Export;
using LayerExportApi.Layers;
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
        builder.Services.AddSingleton(static services =>
        {
            var options = services.GetRequiredService<IOptions<StoreAccessOptions>>().Value;
            var pipeline = new ResiliencePipelineBuilder()
                .AddTimeout(options.PrepareTimeout)
                .AddRetry(new RetryStrategyOptions
                {
                    ShouldHandle = new PredicateBuilder().Handle<Exception>(ExportPreparation.IsTransient),
                    MaxRetryAttempts = options.RetryAttempts,
                    Delay = options.RetryDelay,
                    BackoffType = DelayBackoffType.Exponential,
                })
                .Build();
            return new ExportPreparation(services.GetRequiredService<LayerExporter>(), pipeline, options.ReuseLastSurvey);
        });
        return builder;
    }
}
