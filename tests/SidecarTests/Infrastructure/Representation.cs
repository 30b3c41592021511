namespace SidecarTests.Infrastructure;

/// <summary>One representation of a layer as the contract names it: query value, OCI media type, file suffix.</summary>
internal sealed record Representation(string Compression, string MediaType, string FileSuffix)
{
    public static readonly Representation Tar = new("none", "application/vnd.oci.image.layer.v1.tar", ".tar");
    public static readonly Representation Gzip = new("gzip", "application/vnd.oci.image.layer.v1.tar+gzip", ".tar.gz");
    public static readonly Representation Zstd = new("zstd", "application/vnd.oci.image.layer.v1.tar+zstd", ".tar.zst");

    public static readonly IReadOnlyList<Representation> All = [Tar, Gzip, Zstd];

    public static Representation Named(string compression) => All.Single(r => r.Compression == compression);

    /// <summary>The export URL of this representation of <paramref name="layerId"/>.</summary>
    public string TarPath(string layerId) => $"/layers/{layerId}/tar?compression={Compression}";

    /// <summary>The descriptor URL of this representation of <paramref name="layerId"/>.</summary>
    public string DescriptorPath(string layerId) => $"/layers/{layerId}/descriptor?compression={Compression}";

    public override string ToString() => Compression;
}
