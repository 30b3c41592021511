namespace StressTests.Infrastructure;

/// <summary>HTTP clients for servers on 127.0.0.1: no proxy, no automatic decompression, no timeout for large bodies.</summary>
internal static class LoopbackHttp
{
    /// <summary>A client of <paramref name="baseAddress"/> with up to <paramref name="maxConnections"/> connections.</summary>
    public static HttpClient CreateClient(Uri baseAddress, int maxConnections = 1) =>
        new(new SocketsHttpHandler
        {
            UseProxy = false,
            AutomaticDecompression = System.Net.DecompressionMethods.None,
            MaxConnectionsPerServer = maxConnections,
        })
        {
            BaseAddress = baseAddress,
            Timeout = TimeSpan.FromMinutes(5),
        };
}
