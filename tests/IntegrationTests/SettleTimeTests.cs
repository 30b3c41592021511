using System.Net;
using System.Security.Cryptography;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>What an export made of a layer changed within <c>DigestCache:SettleTime</c> of its start is served and described, never kept.</summary>
public sealed class SettleTimeTests : IDisposable
{
    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("base")
        .AddFile("base", "etc/hostname", "base\n"u8.ToArray());

    public void Dispose() => _store.Dispose();

    // An hour: the layer, made a moment before, is younger than that however slow the machine; none keeps it at once.
    [Theory]
    [InlineData("none", "01:00:00", false)]
    [InlineData("gzip", "01:00:00", false)]
    [InlineData("zstd", "01:00:00", false)]
    [InlineData("none", "00:00:00", true)]
    [InlineData("gzip", "00:00:00", true)]
    public async Task TheDigestOfALayerYoungerThanTheSettleTimeIsDescribedButNotAnnouncedAfterwards(string compression, string settleTime, bool kept)
    {
        await using var server = ApiServer.Start(_store.Root, settings: new Dictionary<string, string> { ["DigestCache:SettleTime"] = settleTime });
        using var http = server.CreateClient();

        var descriptor = await http.GetStringAsync(new Uri($"/layers/base/descriptor?compression={compression}", UriKind.Relative));
        using var download = await http.GetAsync(new Uri($"/layers/base/tar?compression={compression}", UriKind.Relative));
        var body = await download.Content.ReadAsByteArrayAsync();

        // A write within a ctime's tick after the read would keep the fingerprint: announced, the digest could be of other bytes.
        var digest = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(body));
        Assert.Equal(HttpStatusCode.OK, download.StatusCode);
        Assert.Contains(digest, descriptor, StringComparison.Ordinal);
        Assert.Equal(kept ? digest : null, download.Headers.TryGetValues("Docker-Content-Digest", out var announced) ? announced.Single() : null);
        Assert.Equal(kept ? $"\"{digest}\"" : null, download.Headers.ETag?.Tag);
    }
}
