using System.Net;

namespace SidecarTests.Infrastructure;

/// <summary>Assertions on the headers that announce a representation's digest up front.</summary>
internal static class DigestHeaders
{
    /// <summary>Neither Docker-Content-Digest nor an ETag: the digest is not known before the body is sent.</summary>
    public static void AssertAbsent(Fetched response)
    {
        Assert.Null(response.DockerContentDigest);
        Assert.Null(response.ETag);
    }

    /// <summary>Docker-Content-Digest, a strong ETag (no W/) with the same digest, and the exact Content-Length.</summary>
    public static void AssertAnnounced(Fetched response, string digest, long length)
    {
        Assert.Equal(HttpStatusCode.OK, response.Status);
        Assert.Equal(digest, response.DockerContentDigest);
        Assert.Equal($"\"{digest}\"", response.ETag);
        Assert.Equal(length, response.ContentLength);
    }
}
