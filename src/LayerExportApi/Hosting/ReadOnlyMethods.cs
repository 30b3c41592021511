namespace LayerExportApi.Hosting;

/// <summary>GET and HEAD only, as every other endpoint of the server, for endpoints mapped by a library that would answer other methods too.</summary>
internal static class ReadOnlyMethods
{
    /// <summary>The endpoint metadata that restricts an endpoint to GET and HEAD; any other method is a 405.</summary>
    public static readonly HttpMethodMetadata Metadata = new([HttpMethods.Get, HttpMethods.Head]);
}
