using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;

namespace SidecarTests.Infrastructure;

/// <summary>The body of <c>GET /layers/{id}/descriptor</c>, read with the contract's JSON names.</summary>
internal sealed record DescriptorJson(
    [property: JsonPropertyName("mediaType")] string MediaType,
    [property: JsonPropertyName("digest")] string Digest,
    [property: JsonPropertyName("size")] long Size,
    [property: JsonPropertyName("diffID")] string DiffId)
{
    public static async Task<DescriptorJson> GetAsync(HttpClient client, string layerId, Representation representation)
    {
        var fetched = await client.FetchAsync(representation.DescriptorPath(layerId));
        var text = System.Text.Encoding.UTF8.GetString(fetched.Body);
        Assert.True(fetched.Status == HttpStatusCode.OK, $"descriptor of {layerId} ({representation}): {(int)fetched.Status} {text}");
        Assert.Equal("application/json", fetched.MediaType);
        return JsonSerializer.Deserialize<DescriptorJson>(fetched.Body) ?? throw new JsonException($"null descriptor: {text}");
    }
}
