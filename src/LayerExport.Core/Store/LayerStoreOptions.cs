using System.ComponentModel.DataAnnotations;

namespace LayerExport.Core.Store;

/// <summary>The configuration section <c>LayerStore</c>.</summary>
public sealed class LayerStoreOptions
{
    /// <summary>The section name.</summary>
    public const string SectionName = "LayerStore";

    /// <summary>The store's root directory.</summary>
    [Required(ErrorMessage = "LayerStore:Root is required: the directory that holds the layers.")]
    public string Root { get; set; } = "";

    /// <summary>The store's on-disk layout, one of <see cref="LayerStoreLayouts.Names"/>.</summary>
    public string Layout { get; set; } = "native";
}
