namespace LayerExport.Core.Reader;

/// <summary>The OCI whiteout naming convention: <c>.wh.&lt;name&gt;</c> deletes a name, <c>.wh..wh..opq</c> empties a directory.</summary>
public static class WhiteoutName
{
    /// <summary>Prefix of every whiteout name.</summary>
    public static ReadOnlySpan<byte> Prefix => ".wh."u8;

    /// <summary>Name of the opaque-directory marker.</summary>
    public static ReadOnlySpan<byte> OpaqueMarker => ".wh..wh..opq"u8;

    // aufs kept its own bookkeeping (.wh..wh.plnk, .wh..wh.aufs) under this prefix; none of it belongs in a layer.
    private static ReadOnlySpan<byte> MetadataPrefix => ".wh..wh."u8;

    /// <summary>Classifies a directory entry's name.</summary>
    public static WhiteoutKind Classify(ReadOnlySpan<byte> name, out ReadOnlySpan<byte> deletedName)
    {
        deletedName = default;
        if (name.SequenceEqual(OpaqueMarker))
        {
            return WhiteoutKind.Opaque;
        }

        if (name.StartsWith(MetadataPrefix))
        {
            return WhiteoutKind.AufsMetadata;
        }

        if (!name.StartsWith(Prefix))
        {
            return WhiteoutKind.None;
        }

        deletedName = name[Prefix.Length..];
        return WhiteoutKind.Deletion;
    }

    /// <summary>The whiteout name that deletes <paramref name="deletedName"/>.</summary>
    public static byte[] For(ReadOnlySpan<byte> deletedName) => [.. Prefix, .. deletedName];
}

/// <summary>What a directory entry's name says about deletions.</summary>
public enum WhiteoutKind
{
    /// <summary>An ordinary name.</summary>
    None,

    /// <summary><c>.wh.&lt;name&gt;</c>: the name is deleted.</summary>
    Deletion,

    /// <summary><c>.wh..wh..opq</c>: the directory hides everything below it in lower layers.</summary>
    Opaque,

    /// <summary>aufs bookkeeping that is never exported.</summary>
    AufsMetadata,
}
