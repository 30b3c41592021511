namespace LayerExport.Core.Compression;

/// <summary>A compressor between the tar and the bytes sent: write tar into <see cref="Input"/>, then finish it.</summary>
public abstract class CompressionStage : IAsyncDisposable
{
    /// <summary>Where the uncompressed tar goes.</summary>
    public abstract Stream Input { get; }

    /// <summary>Ends the compressed stream (trailer, epilogue) and flushes it.</summary>
    public abstract Task FinishAsync(CancellationToken cancellationToken);

    /// <summary>Once finished, where each gzip block lies, so that a byte range of the body can be produced again; null for zstd.</summary>
    public virtual GzipBlockIndex? GzipIndex => null;

    /// <summary>Releases the compressor; without <see cref="FinishAsync"/> the output stays unterminated.</summary>
    public abstract ValueTask DisposeAsync();

    /// <summary>The stage for <paramref name="compression"/>, writing into <paramref name="output"/>.</summary>
    public static CompressionStage Create(LayerCompression compression, Stream output, CompressionOptions options) => compression switch
    {
        LayerCompression.Gzip => new GzipStage(output, options),
        LayerCompression.Zstd => new ZstdStage(output, options),
        _ => throw new ArgumentOutOfRangeException(nameof(compression), compression, "Not a compressed representation."),
    };

    private sealed class GzipStage(Stream output, CompressionOptions options) : CompressionStage
    {
        private readonly BlockGzipStream _gzip = new(output, options.Gzip.Level, options.Gzip.BlockSize, options.EffectiveThreads);

        public override Stream Input => _gzip;

        public override Task FinishAsync(CancellationToken cancellationToken) => _gzip.FinishAsync(cancellationToken);

        public override GzipBlockIndex? GzipIndex => _gzip.Index;

        public override ValueTask DisposeAsync() => _gzip.DisposeAsync();
    }
}
