using LayerExport.Core.Store;
using Microsoft.Extensions.DependencyInjection;

namespace IntegrationTests.Support;

/// <summary>Wraps the host's own <see cref="ILayerStore"/> registration, so a test sees or alters what the real store does.</summary>
internal static class LayerStoreDecoration
{
    public static IServiceCollection DecorateLayerStore(this IServiceCollection services, Func<ILayerStore, ILayerStore> decorate)
    {
        var original = services.Single(d => d.ServiceType == typeof(ILayerStore));
        var createOriginal = original.ImplementationFactory
            ?? throw new InvalidOperationException("The host registers ILayerStore without a factory; the decoration needs one.");
        services.Remove(original);
        services.AddSingleton(provider => decorate((ILayerStore)createOriginal(provider)));
        return services;
    }
}
