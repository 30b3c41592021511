using LayerExport.Core.Compression;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>Registers the configured layer store and the exporter over it.</summary>
internal static class LayerStoreExtensions
{
    /// <summary>Binds <c>LayerStore</c>, validates it at start and registers the store for its layout.</summary>
    public static WebApplicationBuilder AddLayerStore(this WebApplicationBuilder builder)
    {
        var contentRoot = builder.Environment.ContentRootPath;
        builder.Services.AddOptions<LayerStoreOptions>()
            .BindConfiguration(LayerStoreOptions.SectionName)
            .PostConfigure(options =>
            {
                // A relative root is relative to the content root, not to wherever the process was started.
                if (!string.IsNullOrWhiteSpace(options.Root))
                {
                    options.Root = Path.GetFullPath(options.Root, contentRoot);
                }
            })
            .ValidateDataAnnotations()
            .Validate(
                static options => LayerStoreLayouts.TryParse(options.Layout, out _),
                $"LayerStore:Layout must be one of {LayerStoreLayouts.Names}.")
            .ValidateOnStart();
        builder.Services.AddSingleton<IValidateOptions<LayerStoreOptions>, LayerStoreRootValidation>();

        // The root's identity is taken just before the store opens it, so readiness can tell a root replaced later.
        builder.Services.AddSingleton(static services => StoreRootIdentity.Of(services.GetRequiredService<IOptions<LayerStoreOptions>>().Value.Root));
        builder.Services.AddSingleton(static services =>
        {
            services.GetRequiredService<StoreRootIdentity>();
            return LayerStoreFactory.Create(services.GetRequiredService<IOptions<LayerStoreOptions>>().Value);
        });
        builder.Services.AddSingleton(static services => new LayerExporter(
            services.GetRequiredService<ILayerStore>(),
            services.GetRequiredService<IOptions<CompressionOptions>>().Value));
        return builder;
    }

    /// <summary>Opens the store now, so that a root which does not hold the configured layout stops start-up.</summary>
    public static WebApplication OpenLayerStore(this WebApplication app)
    {
        app.Services.GetRequiredService<ILayerStore>();
        return app;
    }
}
