using System.IO.Pipelines;
using LayerExport.Core.Store;

namespace LayerExport.Core.Export;

/// <summary>A validated, opened layer waiting to be written as a tar stream.</summary>
public sealed class PreparedExport(LayerDescription layer, ILayerContent content) : IDisposable
{
    /// <summary>The layer being exported.</summary>
    public LayerDescription Layer { get; } = layer;

    /// <summary>Progress of the running export, readable after it fails.</summary>
    public LayerTarExport Progress { get; } = new();

    /// <summary>Writes the layer's tar to <paramref name="output"/>.</summary>
    public async Task<ExportSummary> WriteTarAsync(PipeWriter output, CancellationToken cancellationToken)
    {
        using var reader = content.CreateReader();
        return await Progress.WriteAsync(reader, output, cancellationToken).ConfigureAwait(false);
    }

    /// <inheritdoc />
    public void Dispose() => content.Dispose();
}
