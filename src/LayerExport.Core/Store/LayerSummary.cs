using System.Text.Json.Serialization;

namespace LayerExport.Core.Store;

/// <summary>A layer and its direct parent.</summary>
/// <param name="Id">The layer ID.</param>
/// <param name="Parent">The direct parent's ID, or null for a base layer.</param>
/// <param name="Problem">What is wrong with the layer's own metadata (refused or inconsistent), or null; a fault of its parent chain or of its files shows only when the layer is asked for.</param>
public sealed record LayerSummary(
    string Id,
    string? Parent,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Problem = null);
