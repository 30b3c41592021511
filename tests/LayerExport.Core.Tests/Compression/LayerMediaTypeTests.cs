using LayerExport.Core.Compression;

namespace LayerExport.Core.Tests.Compression;

/// <summary>Each layer representation has its OCI media type and download file-name suffix, and its media type names it back.</summary>
public sealed class LayerMediaTypeTests
{
    // The suffix ends the file name a download is saved under: a wrong or missing one hides what the file holds.
    [Theory]
    [InlineData(LayerCompression.None, "application/vnd.oci.image.layer.v1.tar", ".tar")]
    [InlineData(LayerCompression.Gzip, "application/vnd.oci.image.layer.v1.tar+gzip", ".tar.gz")]
    [InlineData(LayerCompression.Zstd, "application/vnd.oci.image.layer.v1.tar+zstd", ".tar.zst")]
    public void EachRepresentationHasItsMediaTypeAndFileSuffix(LayerCompression compression, string mediaType, string suffix)
    {
        Assert.Equal(mediaType, LayerMediaType.For(compression));
        Assert.Equal(suffix, LayerMediaType.FileSuffix(compression));
        Assert.Equal(compression, LayerMediaType.Parse(mediaType));
    }

    // Media types are case-insensitive (RFC 9110), so a client may send one in capitals.
    [Fact]
    public void AMediaTypeInCapitalsNamesItsRepresentation() =>
        Assert.Equal(LayerCompression.Zstd, LayerMediaType.Parse("Application/VND.OCI.Image.Layer.V1.Tar+ZSTD"));
}
