using System.Text.Json.Serialization;

namespace LayerExportApi.Layers;

/// <summary>An OCI descriptor of a layer representation, with the layer's diffID.</summary>
/// <param name="MediaType">OCI media type of the representation.</param>
/// <param name="Digest">sha256 of the representation's bytes.</param>
/// <param name="Size">Length of the representation in bytes.</param>
/// <param name="DiffId">sha256 of the uncompressed tar, for the image config's rootfs.diff_ids.</param>
internal sealed record DescriptorResponse(
    string MediaType,
    string Digest,
    long Size,
    [property: JsonPropertyName("diffID")] string DiffId);
