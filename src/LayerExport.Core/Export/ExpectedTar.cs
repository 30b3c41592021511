using LayerExport.Core.Digest;

namespace LayerExport.Core.Export;

/// <summary>What a response already promised about the tar before its body started.</summary>
/// <param name="Length">The announced length of the uncompressed tar, if any.</param>
/// <param name="DiffId">The announced diffID, if any.</param>
/// <param name="BodySize">The announced size of the compressed body carrying the tar, if any.</param>
/// <param name="BodyDigest">The announced digest of that body, if any.</param>
public sealed record ExpectedTar(long? Length, LayerDigest? DiffId, long? BodySize = null, LayerDigest? BodyDigest = null)
{
    /// <summary>Whether <see cref="DiffId"/> comes from two places that agree (the compressed body's descriptor and the plain tar's, or the store's record), not one.</summary>
    public bool DiffIdCorroborated { get; init; }

    /// <summary>The fingerprint of the layer state the announcement is of; an unhashed tar is held to it before its end.</summary>
    public string? StateFingerprint { get; init; }

    /// <summary>Whether the compressed body's digest, checked before its last byte, fixes the tar: its own digest need not be computed.</summary>
    /// <remarks>
    /// A body with the announced digest is the body kept with <see cref="DiffId"/>, and the same body only ever holds
    /// the same tar. Only the diffID's own record could be wrong (a damaged entry), so it must be corroborated. The
    /// body's digest is known only once all of it is made, after much of it may have left; the walk's fingerprint,
    /// checked against <see cref="StateFingerprint"/> before the end-of-archive blocks, still finds a layer changed
    /// since the announcement while a small body has not left, as the tar's digest did.
    /// </remarks>
    public bool FixedByBody => BodyDigest is not null && DiffId is not null && DiffIdCorroborated && StateFingerprint is not null;

    /// <summary>The <see cref="Digest.SealedChecksum"/> kept with <see cref="DiffId"/> for this layer state, if any.</summary>
    public string? TarCheck { get; init; }

    /// <summary>Whether a plain tar may be held to <see cref="TarCheck"/> instead of its SHA-256: one of a layer state exported before.</summary>
    /// <remarks>The walk's fingerprint is held to <see cref="StateFingerprint"/> before the end-of-archive blocks too, as for <see cref="FixedByBody"/>.</remarks>
    public bool CheckedByChecksum => TarCheck is not null && DiffId is not null && StateFingerprint is not null;

    /// <summary>The <see cref="Digest.SealedChecksum"/> kept with <see cref="BodyDigest"/> for this layer state, if any.</summary>
    public string? BodyCheck { get; init; }

    /// <summary>Whether a compressed body may be held to <see cref="BodyCheck"/> instead of its SHA-256: one of a layer state exported before.</summary>
    /// <remarks>
    /// As <see cref="CheckedByChecksum"/> for a plain tar (docs/decisions/0021-a-known-compressed-body-checked-by-a-sealed-checksum.md).
    /// A body whose tar is not hashed either (<see cref="FixedByBody"/>) still has the walk's fingerprint held to
    /// <see cref="StateFingerprint"/> before the tar's end.
    /// </remarks>
    public bool BodyCheckedByChecksum => BodyCheck is not null && BodyDigest is not null && StateFingerprint is not null;

    /// <summary>Fails when the tar written so far, followed by <paramref name="toCome"/>, is not the one announced; run it before the last bytes leave.</summary>
    /// <param name="tar">The writer that counted and hashed the tar.</param>
    /// <param name="toCome">The bytes that will end the tar, not written yet (the end-of-archive blocks), or none.</param>
    /// <param name="walked">The fingerprint of the entries written (a reassembled tar's: of the state its record was surveyed in), or null where none is taken.</param>
    /// <param name="what">What the tar is, for the message ("tar", "reassembled tar").</param>
    /// <param name="cancellationToken">Stops the wait for the hash.</param>
    /// <exception cref="LayerExportException">The length or the digest differs: the layer changed on disk.</exception>
    public async ValueTask VerifyAsync(HashingPipeWriter tar, ReadOnlyMemory<byte> toCome, string? walked, string what, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(tar);
        var total = tar.Length + toCome.Length;
        if (Length is { } length && total != length)
        {
            throw Mismatch("(end of archive)", $"the {what} is {total} bytes, not the announced {length}");
        }

        // A writer without SHA-256 is one whose tar the body's digest (FixedByBody, VerifyBody) or the kept check fixes.
        if (!tar.Hashes && walked != StateFingerprint)
        {
            throw Mismatch("(end of archive)", $"the {what}'s entries are not those of the layer state whose digest was announced");
        }

        if (!tar.Hashes && CheckedByChecksum && TarCheck != SealedChecksum.Seal(DiffId!.Value, tar.GetChecksum(toCome.Span)))
        {
            throw Mismatch("(end of archive)", $"the {what}'s checksum is not the one kept with the announced {DiffId}");
        }

        if (DiffId is { } diffId && tar.Hashes && await tar.GetDigestAsync(toCome, cancellationToken).ConfigureAwait(false) is var actual && actual != diffId)
        {
            throw Mismatch("(end of archive)", $"the {what}'s digest {actual} is not the announced {diffId}");
        }
    }

    /// <summary>Fails when the compressed body made, of digest <paramref name="made"/>, is not the one announced; run it before its last byte leaves.</summary>
    /// <exception cref="LayerExportException">The digest differs.</exception>
    public void VerifyBody(LayerDigest made)
    {
        if (BodyDigest is { } digest && made != digest)
        {
            throw BodyMismatch($"the compressed body's digest {made} is not the announced {digest}");
        }
    }

    /// <summary>Fails when the compressed body made, of XXH3-128 <paramref name="checksum"/>, is not the one <see cref="BodyCheck"/> was kept for; run it before its last byte leaves.</summary>
    /// <returns>The announced digest, which the body then has.</returns>
    /// <exception cref="LayerExportException">The checksum differs.</exception>
    public LayerDigest VerifyBodyChecksum(UInt128 checksum)
    {
        if (!BodyCheckedByChecksum)
        {
            throw new InvalidOperationException("No check was kept for this body.");
        }

        if (SealedChecksum.Seal(BodyDigest!.Value, checksum) != BodyCheck)
        {
            throw BodyMismatch($"the compressed body's checksum is not the one kept with the announced {BodyDigest}");
        }

        return BodyDigest.Value;
    }

    // Its tar passed the checks before: the layer is as it was, the descriptor kept for it is not what it makes.
    private static LayerExportException BodyMismatch(string fact) =>
        new("(end of body)", $"{fact}: the descriptor kept for this layer state does not describe the body it makes", new TarMismatchException(fact));

    /// <summary>The failure of a tar that is not the one announced, at <paramref name="where"/> in it.</summary>
    internal static LayerExportException Mismatch(string where, string fact) =>
        new(where, $"{fact}: the layer changed on disk", new TarMismatchException(fact));
}
