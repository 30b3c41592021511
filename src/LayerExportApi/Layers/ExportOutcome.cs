namespace LayerExportApi.Layers;

/// <summary>How an export's body ended: the request log's <c>ExportOutcome</c> and the metrics' <c>outcome</c> tag.</summary>
internal static class ExportOutcome
{
    /// <summary>The <see cref="HttpContext.Items"/> key under which an export leaves its outcome for the request log.</summary>
    public const string Item = "LayerExport.Outcome";

    /// <summary>Every byte was sent.</summary>
    public const string Completed = "completed";

    /// <summary>The client went away (or was dropped for reading too slowly).</summary>
    public const string Cancelled = "cancelled";

    /// <summary>Reading the layer failed; the connection was aborted.</summary>
    public const string Failed = "failed";

    /// <summary>The server stopped and the shutdown timeout ran out first; the connection was aborted.</summary>
    public const string Aborted = "aborted";
}
