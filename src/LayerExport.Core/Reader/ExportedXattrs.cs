namespace LayerExport.Core.Reader;

/// <summary>Which extended attributes travel in the tar, and which mark an opaque overlay directory.</summary>
/// <remarks>
/// Only attributes a container needs at run time are exported: file capabilities and user attributes.
/// Overlay, containers/storage and fuse-overlayfs keep their own bookkeeping in <c>user.*</c>, and
/// <c>trusted.*</c> and <c>security.selinux</c> describe the host, not the image.
/// </remarks>
public static class ExportedXattrs
{
    private static ReadOnlySpan<byte> Capability => "security.capability"u8;

    private static ReadOnlySpan<byte> UserPrefix => "user."u8;

    /// <summary>The attributes that mark a directory opaque when set to <c>y</c>.</summary>
    public static IReadOnlyList<byte[]> OpaqueMarkers { get; } = ["trusted.overlay.opaque"u8.ToArray(), "user.overlay.opaque"u8.ToArray()];

    /// <summary>The attributes that mark a zero-size regular file as a whiteout (the xattr form, in a directory marked opaque "x").</summary>
    public static IReadOnlyList<byte[]> WhiteoutMarkers { get; } = ["trusted.overlay.whiteout"u8.ToArray(), "user.overlay.whiteout"u8.ToArray()];

    /// <summary>
    /// True for overlay attributes that make an upper directory meaningless on its own: a redirected directory
    /// or a metadata-only copy has its content in a lower layer.
    /// </summary>
    public static bool NeedsLowerLayers(ReadOnlySpan<byte> name) =>
        name.SequenceEqual("trusted.overlay.redirect"u8) || name.SequenceEqual("user.overlay.redirect"u8)
        || name.SequenceEqual("trusted.overlay.metacopy"u8) || name.SequenceEqual("user.overlay.metacopy"u8);

    /// <summary>True when the attribute is part of the exported layer.</summary>
    public static bool IsExported(ReadOnlySpan<byte> name) =>
        name.SequenceEqual(Capability)
        || (name.StartsWith(UserPrefix)
            && !name.StartsWith("user.overlay."u8)
            && !name.StartsWith("user.containers."u8)
            && !name.StartsWith("user.fuseoverlayfs."u8));
}
