namespace LayerExportApi.Hosting;

/// <summary>Start-up checks of the store, in the configuration section <c>LayerStore</c>.</summary>
internal sealed class StoreCheckOptions
{
    /// <summary>The section name.</summary>
    public const string SectionName = "LayerStore";

    /// <summary>
    /// Start even though this process cannot read <c>trusted.*</c> attributes, with a warning naming the layers
    /// it cannot judge; for stores whose opaque marks are all <c>user.overlay.opaque</c> or <c>.wh..wh..opq</c>.
    /// </summary>
    public bool AllowUnreadableTrustedXattrs { get; set; }
}
