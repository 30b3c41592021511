using LayerExport.Core.Store;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>The start-up check that the process can see every opaque mark the store may hold.</summary>
internal static partial class StoreCheckExtensions
{
    /// <summary>Registers the probe of this process's access to <c>trusted.*</c> (replaceable, to simulate another process).</summary>
    public static WebApplicationBuilder AddStoreChecks(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<StoreCheckOptions>().BindConfiguration(StoreCheckOptions.SectionName).ValidateOnStart();
        builder.Services.AddSingleton(static _ => TrustedXattrAccess.OfThisProcess());
        return builder;
    }

    /// <summary>
    /// Refuses to start over an overlay-form store when <c>trusted.*</c> is invisible to this process, or, when
    /// allowed, names the layers whose directories it cannot judge.
    /// </summary>
    public static WebApplication CheckOpaqueMarksVisible(this WebApplication app)
    {
        var store = app.Services.GetRequiredService<ILayerStore>();
        var access = app.Services.GetRequiredService<TrustedXattrAccess>();
        if (!TrustedXattrAccess.IsNeededBy(store.Layout) || access.CanRead)
        {
            return app;
        }

        var layout = app.Services.GetRequiredService<IOptions<LayerStoreOptions>>().Value.Layout;
        if (!app.Services.GetRequiredService<IOptions<StoreCheckOptions>>().Value.AllowUnreadableTrustedXattrs)
        {
            throw new StartupCheckException(
                $"this process cannot read trusted.* extended attributes ({access.Reason}), where overlayfs marks opaque "
                + $"directories and whiteouts in a {layout} store: such directories would export as ordinary ones, "
                + "a wrong layer with no error. Run as root (CAP_SYS_ADMIN in the initial user namespace), or set "
                + "LayerStore:AllowUnreadableTrustedXattrs=true for a store that marks them only with user.overlay.* or .wh..wh..opq.");
        }

        var layers = store.List().Select(static layer => layer.Id).ToList();
        Log.CannotJudge(app.Logger, access.Reason, layers.Count, string.Join(", ", layers));
        return app;
    }

    private static partial class Log
    {
        [LoggerMessage(
            Level = LogLevel.Error,
            Message = "trusted.* extended attributes are invisible to this process ({Reason}); LayerStore:AllowUnreadableTrustedXattrs is set, so it starts anyway. "
                + "It cannot judge any directory in the diff of these {Count} layers: one marked opaque by trusted.overlay.opaque (or holding trusted.overlay.whiteout files) exports as an ordinary directory: {Layers}")]
        public static partial void CannotJudge(ILogger logger, string reason, int count, string layers);
    }
}
