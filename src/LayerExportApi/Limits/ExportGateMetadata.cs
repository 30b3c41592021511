namespace LayerExportApi.Limits;

/// <summary>Endpoint metadata: the endpoint's exports pass the <see cref="ExportGate"/> (<see cref="ExportAdmission"/>), so its 503 may carry <c>Retry-After</c>.</summary>
internal sealed class ExportGateMetadata
{
    /// <summary>The one instance: the mark carries nothing else.</summary>
    public static readonly ExportGateMetadata Instance = new();

    private ExportGateMetadata()
    {
    }
}
