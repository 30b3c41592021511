using LayerExport.Core.Digest;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;

namespace LayerExport.Core.Export;

/// <summary>What a metadata walk learns of a layer without reading any file: the tar's exact size and a fingerprint.</summary>
/// <param name="TarSize">Exact length of the uncompressed tar.</param>
/// <param name="Entries">Number of tar entries.</param>
/// <param name="Fingerprint">See <see cref="LayerFingerprint"/>.</param>
public sealed record LayerSurvey(long TarSize, long Entries, string Fingerprint)
{
    /// <summary>The diffID the store recorded for this layer, when its tar is reassembled from a record.</summary>
    public LayerDigest? RecordedDiffId { get; init; }

    /// <summary>The digest of the tar-split record the survey measured, when the tar is reassembled: an export makes its tar from that record or fails.</summary>
    internal LayerDigest? RecordDigest { get; init; }

    /// <summary>The newest ctime the walk met (nanoseconds since the epoch), or <see cref="long.MinValue"/>: a file changed after the survey has a newer one.</summary>
    internal long NewestChangeNanoseconds { get; init; } = long.MinValue;

    /// <summary>Whether <see cref="TarSize"/> is a record's whose tar has no end blocks and no recorded length: only <see cref="RecordedDiffId"/>, which a whole export checks, tells it from a record cut short.</summary>
    public bool LengthVouchedByDiffIdAlone { get; init; }

    /// <summary>Walks <paramref name="reader"/> (a metadata reader) to the end.</summary>
    public static LayerSurvey Take(ILayerEntryReader reader, CancellationToken cancellationToken) =>
        Take(reader, walked: null, cancellationToken);

    /// <summary>Like <see cref="Take(ILayerEntryReader, CancellationToken)"/>, showing each entry to <paramref name="walked"/> as it passes.</summary>
    internal static LayerSurvey Take(ILayerEntryReader reader, Action<LayerEntry>? walked, CancellationToken cancellationToken)
    {
        using var fingerprint = new LayerFingerprint();

        // The end-of-archive blocks are counted first, so the entry that leaves no room for them is the one named.
        long size = TarHeaderEncoder.EndOfArchive.Length, entries = 0;
        while (reader.TryRead(out var entry))
        {
            using (entry)
            {
                cancellationToken.ThrowIfCancellationRequested();
                try
                {
                    size = TarLength.Add(size, TarHeaderEncoder.EntryLength(entry.Header));
                }
                catch (TarEncodingException e)
                {
                    // Reported like any other unreadable entry, with its path, before a response starts.
                    throw new LayerExportException(entry.DisplayPath, e.Message, e);
                }
                entries++;
                fingerprint.Append(entry);
                walked?.Invoke(entry);
            }
        }

        return new LayerSurvey(size, entries, fingerprint.Current) { NewestChangeNanoseconds = fingerprint.NewestChangeNanoseconds };
    }
}
