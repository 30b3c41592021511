using System.Security.Cryptography;
using LayerExport.Core.Digest;

namespace LayerExport.Core.Tests.Digest;

/// <summary>A SHA-256 hash is written in the OCI digest form, <c>sha256:</c> and 64 lowercase hex digits.</summary>
public sealed class LayerDigestTests
{
    // Clients compare the digest with the one in an image manifest as a string: the algorithm prefix is part of it.
    [Fact]
    public void AHashIsWrittenWithItsAlgorithmInLowercaseHex()
    {
        var digest = LayerDigest.FromHash(SHA256.HashData("abc"u8));

        Assert.Equal("sha256:ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad", digest.ToString());
        Assert.True(LayerDigest.IsWellFormed(digest.Value));
    }
}
