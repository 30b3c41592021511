using System.Globalization;
using System.Net;
using System.Net.Http.Headers;

namespace SidecarTests.Infrastructure;

/// <summary>A response read to its end: status, every header (response and content) as sent, and the whole body.</summary>
internal sealed record Fetched(HttpStatusCode Status, IReadOnlyDictionary<string, string> Headers, byte[] Body)
{
    /// <summary>The header registries use for a blob's digest, or null.</summary>
    public string? DockerContentDigest => Header("Docker-Content-Digest");

    public string? ETag => Header("ETag");

    public string? ContentRange => Header("Content-Range");

    public string? ContentType => Header("Content-Type");

    /// <summary>Content-Type without its parameters.</summary>
    public string? MediaType => ContentType is { } value ? MediaTypeHeaderValue.Parse(value).MediaType : null;

    public long? ContentLength => Header("Content-Length") is { } value ? long.Parse(value, CultureInfo.InvariantCulture) : null;

    public ContentDispositionHeaderValue? ContentDisposition => Header("Content-Disposition") is { } value ? ContentDispositionHeaderValue.Parse(value) : null;

    /// <summary>sha256 of the body, as an OCI digest string.</summary>
    public string BodyDigest => Digests.Sha256(Body);

    /// <summary>A header's raw value (several values joined by ", "), or null.</summary>
    public string? Header(string name) => Headers.TryGetValue(name, out var value) ? value : null;
}

/// <summary>Sends requests and reads the answers whole.</summary>
internal static class FetchExtensions
{
    public static Task<Fetched> FetchAsync(this HttpClient client, string path, Action<HttpRequestMessage>? configure = null) =>
        client.FetchAsync(HttpMethod.Get, path, configure);

    public static async Task<Fetched> FetchAsync(this HttpClient client, HttpMethod method, string path, Action<HttpRequestMessage>? configure = null)
    {
        using var request = new HttpRequestMessage(method, path);
        configure?.Invoke(request);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);

        // HEAD has no body whatever Content-Length says (which may be more than a byte array holds).
        var body = method == HttpMethod.Head ? [] : await response.Content.ReadAsByteArrayAsync();
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var (name, values) in response.Headers.NonValidated.Concat(response.Content.Headers.NonValidated))
        {
            headers[name] = string.Join(", ", values);
        }

        return new Fetched(response.StatusCode, headers, body);
    }

    /// <summary>GET that must answer 200; returns the body.</summary>
    public static async Task<byte[]> GetOkBytesAsync(this HttpClient client, string path)
    {
        var fetched = await client.FetchAsync(path);
        Assert.True(fetched.Status == HttpStatusCode.OK, $"GET {path}: {(int)fetched.Status} {System.Text.Encoding.UTF8.GetString(fetched.Body)}");
        return fetched.Body;
    }
}
