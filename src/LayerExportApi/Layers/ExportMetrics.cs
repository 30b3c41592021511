using System.Diagnostics;
using System.Diagnostics.Metrics;
using LayerExport.Core.Compression;
using LayerExportApi.Limits;

namespace LayerExportApi.Layers;

/// <summary>The export instruments of the <c>LayerExport</c> meter, tagged by representation and outcome.</summary>
/// <remarks>
/// Recorded at the same points as the completion log line: one ended export is one count, whatever its outcome
/// (<c>completed</c>, <c>cancelled</c> by the client, <c>failed</c> on a read error, <c>aborted</c> by a shutdown).
/// Bytes are tar bytes produced, known for every outcome: for a byte range, those made for it (the range of a plain
/// tar, a gzip body's tar from the block that holds it, a zstd body's whole tar). Entries are tar entries, whatever the
/// layer's store keeps. A body read back from <c>BlobCache:Directory</c> produces no tar: it counts as an export of
/// 0 bytes and 0 entries, and once more among the kept bodies sent.
/// </remarks>
internal sealed class ExportMetrics
{
    /// <summary>The meter's name, for the OpenTelemetry registration.</summary>
    public const string MeterName = "LayerExport";

    private readonly UpDownCounter<long> _active;
    private readonly Counter<long> _exports;
    private readonly Counter<long> _bytes;
    private readonly Counter<long> _entries;
    private readonly Histogram<double> _duration;
    private readonly Counter<long> _rejections;
    private readonly Counter<long> _keptBodiesSent;

    /// <summary>Creates the instruments on the host's meter factory.</summary>
    public ExportMetrics(IMeterFactory meterFactory, ExportGate gate)
    {
        var meter = meterFactory.Create(MeterName);
        _active = meter.CreateUpDownCounter<long>("layer_export.active", "{export}", "Exports whose body is being written.");
        meter.CreateObservableUpDownCounter("layer_export.queued", () => gate.Queued, "{export}", "Exports waiting for a slot.");
        _exports = meter.CreateCounter<long>("layer_export.exports", "{export}", "Exports ended, by representation and outcome.");
        _bytes = meter.CreateCounter<long>("layer_export.tar", "By", "Tar bytes produced by ended exports.");
        _entries = meter.CreateCounter<long>("layer_export.entries", "{entry}", "Tar entries written by ended exports.");
        _duration = meter.CreateHistogram(
            "layer_export.duration",
            "s",
            "Time from the first byte to the end of an export.",
            tags: null,
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 900, 3600] });
        _rejections = meter.CreateCounter<long>("layer_export.rejections", "{request}", "Exports refused with 503 because every slot and queue place was taken.");
        _keptBodiesSent = meter.CreateCounter<long>("layer_export.kept_bodies_sent", "{export}", "Compressed downloads answered in full from a body kept in BlobCache:Directory.");
    }

    /// <summary>An export's body starts.</summary>
    public void Started(LayerCompression compression) => _active.Add(1, Representation(compression));

    /// <summary>An export's body ended with <paramref name="outcome"/>.</summary>
    public void Ended(LayerCompression compression, string outcome, long tarBytes, long entries, TimeSpan elapsed)
    {
        _active.Add(-1, Representation(compression));
        var tags = new TagList { Representation(compression), { "outcome", outcome } };
        _exports.Add(1, tags);
        _bytes.Add(tarBytes, tags);
        _entries.Add(entries, tags);
        _duration.Record(elapsed.TotalSeconds, tags);
    }

    /// <summary>A download was answered in full from a kept body.</summary>
    public void KeptBodySent(LayerCompression compression) => _keptBodiesSent.Add(1, Representation(compression));

    /// <summary>An export was refused for want of a slot.</summary>
    public void Rejected(string representation) => _rejections.Add(1, new KeyValuePair<string, object?>("representation", representation));

    private static KeyValuePair<string, object?> Representation(LayerCompression compression) =>
        new("representation", RepresentationNegotiation.Tag(compression));
}
