using BenchmarkDotNet.Attributes;
using LayerExport.Core.Export;
using LayerExport.Core.Store;

namespace LayerExport.Benchmarks;

/// <summary>The walk of a small-files-like layer: the metadata walk (survey) and the whole export into a sink.</summary>
/// <remarks>
/// The layer is written once, by <see cref="Setup"/>, in a new temporary directory (a native-layout store with
/// one layer): <see cref="FileCount"/> files of 0-16 KiB, 80% text and 20% random, in a node_modules-like tree.
/// After the first iteration it is in the page cache, so this measures the per-file CPU cost, not the disk.
/// </remarks>
public class WalkerBenchmarks : IDisposable
{
    private const string LayerId = "bench";

    private string _root = null!;
    private NativeLayerStore _store = null!;
    private LayerExporter _exporter = null!;

    /// <summary>Regular files in the generated layer.</summary>
    [Params(3000)]
    public int FileCount { get; set; }

    /// <summary>Writes the layer and checks that the survey and the export agree on the tar's size.</summary>
    [GlobalSetup]
    public void Setup()
    {
        _root = Directory.CreateTempSubdirectory("layerexport-bench-").FullName;
        var layer = Path.Combine(_root, LayerId);
        Directory.CreateDirectory(layer);
        File.WriteAllText(Path.Combine(layer, "layer.json"), "{\"parent\": null}\n");
        SmallFilesTree.Write(Path.Combine(layer, "diff"), FileCount, seed: 1);
        _store = new NativeLayerStore(_root);
        _exporter = new LayerExporter(_store);

        var surveyed = Survey();
        var exported = ExportTarAsync().GetAwaiter().GetResult();
        if (surveyed != exported)
        {
            throw new InvalidOperationException($"the survey says {surveyed} bytes, the export wrote {exported}");
        }
    }

    /// <summary>The metadata walk that precedes every response: exact tar size and fingerprint, no file opened.</summary>
    [Benchmark]
    public long Survey()
    {
        using var export = _exporter.Prepare(LayerId, []);
        return export.Survey(CancellationToken.None).TarSize;
    }

    /// <summary>The whole plain-tar export (walk, reads, headers, diffID hashing) into a pipe writer that discards it.</summary>
    [Benchmark]
    public async Task<long> ExportTarAsync()
    {
        using var export = _exporter.Prepare(LayerId, []);
        var output = new NullPipeWriter();
        var summary = await export.WriteTarAsync(output, CancellationToken.None).ConfigureAwait(false);
        return summary.Bytes;
    }

    /// <summary>Removes the layer.</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _store?.Dispose();
        if (_root is not null && Directory.Exists(_root))
        {
            Directory.Delete(_root, recursive: true);
        }

        GC.SuppressFinalize(this);
    }
}
