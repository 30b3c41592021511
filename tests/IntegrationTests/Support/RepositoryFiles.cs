namespace IntegrationTests.Support;

/// <summary>Files of the checkout the tests were built from, found by walking up from the test assembly to <c>LayerExport.sln</c>.</summary>
internal static class RepositoryFiles
{
    /// <summary>The bundled sample store, <c>samples/layer-store</c> (base &lt;- app &lt;- patch).</summary>
    public static string SampleStore => Path.Combine(Root(), "samples", "layer-store");

    /// <summary>The requests for editors' HTTP clients, <c>http-samples/layers.http</c>.</summary>
    public static string HttpSamples => Path.Combine(Root(), "http-samples", "layers.http");

    private static string Root()
    {
        for (var directory = new DirectoryInfo(AppContext.BaseDirectory); directory is not null; directory = directory.Parent)
        {
            if (File.Exists(Path.Combine(directory.FullName, "LayerExport.sln")))
            {
                return directory.FullName;
            }
        }

        throw new InvalidOperationException($"No LayerExport.sln above {AppContext.BaseDirectory}.");
    }
}
