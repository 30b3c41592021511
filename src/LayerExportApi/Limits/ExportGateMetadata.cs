namespace LayerExportApi.Limits;

/// <summary>Endpoint metadata: requests to this endpoint pass the <see cref="ExportGate"/>.</summary>
internal sealed class ExportGateMetadata
{
    /// <summary>The one instance.</summary>
    public static readonly ExportGateMetadata Instance = new();

    private ExportGateMetadata()
    {
    }
}
