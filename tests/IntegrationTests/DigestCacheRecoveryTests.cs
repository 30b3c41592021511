using System.Net;
using System.Security.Cryptography;
using System.Text.RegularExpressions;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>A cached descriptor the layer does not make costs one failed download, never every download after it.</summary>
public sealed class DigestCacheRecoveryTests : IDisposable
{
    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("base")
        .AddFile("base", "etc/hostname", "base\n"u8.ToArray());

    private readonly string _digests = Directory.CreateTempSubdirectory("digest-recovery-").FullName;

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_digests, recursive: true);
    }

    [Fact]
    public async Task AWrongCachedDigestFailsOneDownloadAndIsThenReplacedByTheTrueOne()
    {
        var settings = new Dictionary<string, string> { ["DigestCache:Directory"] = _digests };
        var url = new Uri("/layers/base/tar", UriKind.Relative);
        byte[] tar;
        await using (var first = ApiServer.Start(_store.Root, settings: settings))
        {
            using var client = first.CreateClient();
            tar = await client.GetByteArrayAsync(url);
        }

        // Well-formed and wrong, as a damaged entry, or a file written through mmap without moving its ctime, leaves it.
        foreach (var entry in Directory.GetFiles(_digests, "*.json"))
        {
            await File.WriteAllTextAsync(entry, Regex.Replace(await File.ReadAllTextAsync(entry), "sha256:[0-9a-f]{64}", "sha256:" + new string('0', 64)));
        }

        await using var server = ApiServer.Start(_store.Root, settings: settings);
        using var http = server.CreateClient();
        using var failed = await http.GetAsync(url);
        await ProblemAssert.IsProblemAsync(failed, HttpStatusCode.ServiceUnavailable);
        using var retried = await http.GetAsync(url);
        var body = await retried.Content.ReadAsByteArrayAsync();
        using var descriptor = await http.GetAsync(new Uri("/layers/base/descriptor", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, retried.StatusCode);
        Assert.Equal(tar, body);
        Assert.Contains("sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar)), await descriptor.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
