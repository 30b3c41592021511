using System.Net;
using System.Net.Http.Headers;
using System.Security.Cryptography;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>
/// A zstd range is made again from the body's start (decision 0009); its 206 and headers leave before that work,
/// so a client that waits for the headers is not kept waiting while the bytes before the range are made.
/// </summary>
public sealed class CompressedRangeStartTests : IDisposable
{
    private const string Layer = "long";
    private const string HeldEntry = "b/held.bin";

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer(Layer)
        .AddFile(Layer, "a/first.bin", RandomNumberGenerator.GetBytes(1024 * 1024))
        .AddPatternFile(Layer, HeldEntry, 1024 * 1024)
        .AddFile(Layer, "c/last.bin", RandomNumberGenerator.GetBytes(256 * 1024));

    public void Dispose() => _store.Dispose();

    [Fact]
    public async Task TheHeadersOfAZstdRangeLeaveBeforeTheBodyBeforeItIsMadeAgain()
    {
        BlockingLayerStore? blocking = null;
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(inner => blocking = new BlockingLayerStore(inner, HeldEntry, passFirst: 1)));
        using var client = server.CreateClient();
        var path = new Uri($"/layers/{Layer}/tar?compression=zstd", UriKind.Relative);
        var full = await client.GetByteArrayAsync(path);
        var start = full.Length - 1000;
        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Range = new RangeHeaderValue(start, null);

        // The range lies after the held file: none of its bytes can exist while the export waits there.
        var sending = client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        await blocking!.WaitUntilHeldAsync();
        var headersFirst = await Task.WhenAny(sending, Task.Delay(CapturedLogs.SafetyTimeout)) == sending;
        blocking.Release();
        using var response = await sending;

        Assert.True(headersFirst, "the 206 headers waited for the body before the range");
        Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
        Assert.Equal(full[start..], await response.Content.ReadAsByteArrayAsync());
    }

    [Fact]
    public async Task AZstdRangeTheClientLeavesKeepsTheDigestKnown()
    {
        BlockingLayerStore? blocking = null;
        await using var server = ApiServer.Start(_store.Root, services => services.DecorateLayerStore(inner => blocking = new BlockingLayerStore(inner, HeldEntry, passFirst: 1)));
        using var client = server.CreateClient();
        var path = new Uri($"/layers/{Layer}/tar?compression=zstd", UriKind.Relative);
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(await client.GetByteArrayAsync(path)));

        // Only a body unlike the descriptor may make the server forget it: a client that hangs up says nothing of it.
        using (var leaving = server.CreateClient())
        {
            using var request = new HttpRequestMessage(HttpMethod.Get, path);
            request.Headers.Range = new RangeHeaderValue(1000, null);
            using var response = await leaving.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
            Assert.Equal(HttpStatusCode.PartialContent, response.StatusCode);
            await blocking!.WaitUntilHeldAsync();
        }

        blocking.Release();
        await server.Logs.WaitForExportOutcomesAsync(Layer, 2);
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));

        Assert.Equal(digest, Assert.Single(head.Headers.GetValues("Docker-Content-Digest")));
    }
}
