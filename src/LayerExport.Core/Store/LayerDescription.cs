namespace LayerExport.Core.Store;

/// <summary>A layer, its recorded chain of parents and the store layout.</summary>
/// <param name="Id">The layer ID.</param>
/// <param name="Chain">Parent IDs, nearest first; empty for a base layer.</param>
/// <param name="Layout">The store layout, e.g. <c>native</c>.</param>
public sealed record LayerDescription(string Id, IReadOnlyList<string> Chain, string Layout);
