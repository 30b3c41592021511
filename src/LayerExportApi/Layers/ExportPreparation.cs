using LayerExport.Core;
using LayerExport.Core.Export;
using LayerExport.Core.Native;
using Polly;

namespace LayerExportApi.Layers;

/// <summary>The phase before the first byte: validate, open and survey the layer, retrying what may pass.</summary>
/// <remarks>
/// Only this phase is retried or timed: once a body has started, bytes sent cannot be taken back, and a long
/// download to a slow client is legitimate. Store verdicts (not found, refused, inconsistent) are final.
/// </remarks>
internal sealed class ExportPreparation(LayerExporter exporter, ResiliencePipeline pipeline)
{
    /// <summary>Prepares and surveys the export of <paramref name="id"/>.</summary>
    public async ValueTask<(PreparedExport Export, LayerSurvey Survey)> PrepareAsync(string id, IReadOnlyList<string> parents, CancellationToken cancellationToken) =>
        await pipeline.ExecuteAsync(
            static (state, token) =>
            {
                var export = state.exporter.Prepare(state.id, state.parents);
                try
                {
                    return ValueTask.FromResult((export, export.Survey(token)));
                }
                catch
                {
                    export.Dispose();
                    throw;
                }
            },
            (exporter, id, parents),
            cancellationToken);

    /// <summary>True for failures worth another try: transient system-call errors, also inside an entry's failure.</summary>
    public static bool IsTransient(Exception exception) => exception switch
    {
        NativeIOException native => native.IsTransient,
        LayerExportException { InnerException: { } inner } => IsTransient(inner),
        _ => false,
    };
}
