namespace LayerExportApi.Limits;

/// <summary>Endpoint metadata: requests to this endpoint pass the <see cref="ExportGate"/>.</summary>
internal sealed class ExportGateMetadata
{
    /// <summary>For an endpoint that picks its representation from <c>?compression=</c> and <c>Accept</c>.</summary>
    public static readonly ExportGateMetadata Negotiating = new(readsAccept: true);

    /// <summary>For an endpoint that picks it from <c>?compression=</c> alone.</summary>
    public static readonly ExportGateMetadata QueryOnly = new(readsAccept: false);

    private ExportGateMetadata(bool readsAccept) => ReadsAccept = readsAccept;

    /// <summary>Whether the endpoint reads <c>Accept</c>, so a refusal's metrics tag names what the endpoint would have chosen.</summary>
    public bool ReadsAccept { get; }
}
