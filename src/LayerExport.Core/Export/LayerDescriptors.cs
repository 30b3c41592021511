using System.Collections.Concurrent;
using System.IO.Pipelines;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;

namespace LayerExport.Core.Export;

/// <summary>Digests and sizes of layer representations: from the cache, from completed streams, or computed once.</summary>
/// <remarks>
/// Concurrent requests for the same answer share one computation. A computation is not tied to the request
/// that started it (another may be waiting on it); it stops only when the service is disposed at shutdown.
/// </remarks>
public sealed class LayerDescriptors(LayerExporter exporter, DigestCache cache, CompressionOptions options) : IDisposable
{
    private readonly ConcurrentDictionary<string, Lazy<Task<LayerDescriptor>>> _running = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, LayerSurvey> _lastSurveys = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _shutdown = new();

    /// <summary>The descriptor of a representation when it is already known for this layer state.</summary>
    /// <remarks>A plain tar reassembled from the store's record is always known: its digest is the recorded diffID.</remarks>
    public LayerDescriptor? TryGetKnown(string layerId, LayerSurvey survey, LayerCompression compression)
    {
        if (compression == LayerCompression.None && survey.RecordedDiffId is { } recorded)
        {
            return new LayerDescriptor(LayerMediaType.Tar, recorded, survey.TarSize, recorded);
        }

        return cache.TryGet(Key(layerId, survey.Fingerprint, compression), out var known) ? known : null;
    }

    /// <summary>The last survey seen for a layer, or null: what a plain download may announce without walking the layer again.</summary>
    /// <remarks>
    /// Only an announcement that the export then verifies: a tar of another length, or another digest when one
    /// was announced, fails the download before its last bytes and makes the layer be surveyed afresh.
    /// </remarks>
    public LayerSurvey? LastSurvey(string layerId) => _lastSurveys.TryGetValue(layerId, out var survey) ? survey : null;

    /// <summary>Remembers a survey just taken, or what a completed generated export found.</summary>
    public void RememberSurvey(string layerId, LayerSurvey survey) => _lastSurveys[layerId] = survey;

    /// <summary>Forgets a layer's last survey, after an export found the layer different from it.</summary>
    public void ForgetSurvey(string layerId) => _lastSurveys.TryRemove(layerId, out _);

    /// <summary>Remembers what a completed export produced, under the fingerprint of what it actually read.</summary>
    public LayerDescriptor Record(string layerId, LayerCompression compression, ExportSummary summary)
    {
        var descriptor = new LayerDescriptor(LayerMediaType.For(compression), summary.Digest, summary.Size, summary.DiffId) { GzipIndex = summary.GzipIndex };
        cache.Put(Key(layerId, summary.Fingerprint, compression), descriptor);
        if (compression != LayerCompression.None)
        {
            var tar = new LayerDescriptor(LayerMediaType.Tar, summary.DiffId, summary.Bytes, summary.DiffId);
            cache.Put(Key(layerId, summary.Fingerprint, LayerCompression.None), tar);
        }

        return descriptor;
    }

    /// <summary>The descriptor for this layer state, computing it (once, however many ask) when it is not known.</summary>
    public async Task<LayerDescriptor> GetAsync(string layerId, LayerSurvey survey, LayerCompression compression, CancellationToken cancellationToken)
    {
        if (TryGetKnown(layerId, survey, compression) is { } known)
        {
            return known;
        }

        var key = Key(layerId, survey.Fingerprint, compression);
        var computation = _running.GetOrAdd(key, _ => new Lazy<Task<LayerDescriptor>>(() => ComputeAsync(key, layerId, compression)));
        return await computation.Value.WaitAsync(cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose()
    {
        _shutdown.Cancel();
        _shutdown.Dispose();
    }

    private async Task<LayerDescriptor> ComputeAsync(string key, string layerId, LayerCompression compression)
    {
        try
        {
            using var export = exporter.Prepare(layerId, []);
            var sink = PipeWriter.Create(Stream.Null);
            var summary = await export.WriteAsync(compression, sink, expected: null, _shutdown.Token).ConfigureAwait(false);
            return Record(layerId, compression, summary);
        }
        finally
        {
            _running.TryRemove(key, out _);
        }
    }

    private string Key(string layerId, string fingerprint, LayerCompression compression) =>
        DigestCache.Key(layerId, fingerprint, Representation(compression));

    // Codec settings that change the bytes are part of the key; the thread count is not, as it never does.
    private string Representation(LayerCompression compression) => compression switch
    {
        LayerCompression.None => "tar",
        LayerCompression.Gzip => $"gzip/level={options.Gzip.Level}/block={options.Gzip.BlockSize}",
        LayerCompression.Zstd => $"zstd/level={options.Zstd.Level}",
        _ => throw new ArgumentOutOfRangeException(nameof(compression)),
    };
}
