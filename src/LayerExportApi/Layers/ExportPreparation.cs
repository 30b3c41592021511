using LayerExport.Core;
using LayerExport.Core.Export;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;
using Polly;
using Polly.Timeout;

namespace LayerExportApi.Layers;

/// <summary>The phase before the first byte: validate, open and survey the layer, retrying what may pass.</summary>
/// <remarks>
/// Only this phase is retried or timed: once a body has started, bytes sent cannot be taken back, and a long
/// download to a slow client is legitimate. Store verdicts (not found, refused, inconsistent) are final.
/// The store's calls are synchronous and a hung file system never returns from one, so each runs off the request's
/// thread: the time limit answers the client while the read, given up on, goes on, counted (<see cref="StoreReads"/>).
/// </remarks>
internal sealed class ExportPreparation(LayerExporter exporter, ResiliencePipeline pipeline, bool reuseLastSurvey, StoreReads reads)
{
    /// <summary>Whether whole downloads may take their length from the layer's last survey (<c>LayerStore:Access:ReuseLastSurvey</c>).</summary>
    public bool ReusesLastSurvey => reuseLastSurvey;

    /// <summary>Prepares and surveys the export of <paramref name="id"/>.</summary>
    public async ValueTask<(PreparedExport Export, LayerSurvey Survey)> PrepareAsync(string id, IReadOnlyList<string> parents, CancellationToken cancellationToken)
    {
        var (export, survey, _) = await PrepareAsync(id, parents, static _ => null, cancellationToken);
        return (export, survey);
    }

    /// <summary>Prepares the export of <paramref name="id"/>; surveys it unless <paramref name="assumed"/> gives a survey the export will verify.</summary>
    /// <returns>The export, its survey, and whether that survey was just taken (false: it was assumed).</returns>
    /// <exception cref="TimeoutRejectedException">The phase took longer than <c>LayerStore:Access:PrepareTimeout</c>; the message says so.</exception>
    public async ValueTask<(PreparedExport Export, LayerSurvey Survey, bool Surveyed)> PrepareAsync(
        string id, IReadOnlyList<string> parents, Func<string, LayerSurvey?> assumed, CancellationToken cancellationToken)
    {
        reads.ThrowIfHung();
        try
        {
            return await pipeline.ExecuteAsync(
                static (state, token) => state.reads.RunAsync(
                    () =>
                    {
                        var export = state.exporter.Prepare(state.id, state.parents);
                        try
                        {
                            return state.assumed(export.Layer.Id) is { } survey && export.TryAssume(survey) ? (export, survey, false) : (export, export.Survey(token), true);
                        }
                        catch
                        {
                            export.Dispose();
                            throw;
                        }
                    },
                    static late => late.export.Dispose(),
                    state.cancellationToken,
                    token),
                (exporter, id, parents, assumed, reads, cancellationToken),
                cancellationToken);
        }
        catch (TimeoutRejectedException e)
        {
            throw Described(e, "Validating, opening and surveying the layer");
        }
    }

    /// <summary>Throws the store's refusal of the request itself (no such layer, other parents, a layer it refuses to read), opening nothing and retrying nothing.</summary>
    /// <remarks>
    /// Asked before a request waits for a slot, so that one the store can only refuse is answered at once. Any other
    /// failure is left to <see cref="PrepareAsync(string, IReadOnlyList{string}, Func{string, LayerSurvey?}, CancellationToken)"/>, which retries what may pass.
    /// The store's call runs as every other does (<see cref="StoreReads"/>), within the same time limit; one that does
    /// not answer in time is left to that phase too.
    /// </remarks>
    /// <exception cref="LayerStoreException">A <see cref="LayerNotFoundException"/>, <see cref="ParentChainMismatchException"/> or <see cref="LayerRefusedException"/>.</exception>
    public async ValueTask RefuseNowAsync(string id, IReadOnlyList<string> parents, CancellationToken cancellationToken)
    {
        try
        {
            await reads.RunAsync(() => exporter.Check(id, parents), static _ => { }, cancellationToken);
        }
        catch (Exception e) when (e is not (LayerNotFoundException or ParentChainMismatchException or LayerRefusedException))
        {
            // Judged again, with retries, once a slot is held; a store that did not answer in time, too.
        }
    }

    /// <summary>Reads the store's metadata (the listing, a layer's description) with the same retries and time limit.</summary>
    /// <remarks>The stores leave a transient error (EIO, EMFILE, ...) to their caller to retry, as this phase does for an export.</remarks>
    public async ValueTask<T> ReadAsync<T>(Func<T> read, CancellationToken cancellationToken)
    {
        reads.ThrowIfHung();
        try
        {
            return await pipeline.ExecuteAsync(static (state, token) => state.reads.RunAsync(state.read, static _ => { }, state.cancellationToken, token), (read, reads, cancellationToken), cancellationToken);
        }
        catch (TimeoutRejectedException e)
        {
            throw Described(e, "Reading the layer store's metadata");
        }
    }

    // Polly's own message names neither the setting nor the phase; this one becomes the problem's detail.
    private static TimeoutRejectedException Described(TimeoutRejectedException e, string phase) => new(
        $"{phase} took longer than LayerStore:Access:PrepareTimeout ({e.Timeout.TotalSeconds:0.###} s); the layer store is slow or busy, try again later.",
        e.Timeout,
        e);

    /// <summary>True for failures worth another try: transient system-call errors and a layer that changed under the walk, also inside an entry's failure.</summary>
    public static bool IsTransient(Exception exception) => IsChanging(exception) || exception switch
    {
        NativeIOException native => native.IsTransient,
        LayerExportException { InnerException: { } inner } => IsTransient(inner),
        _ => false,
    };

    /// <summary>True when the walk found the layer changing: an entry replaced, or one listed and gone when opened.</summary>
    public static bool IsChanging(Exception exception) => exception switch
    {
        LayerChangedException => true,
        LayerExportException { InnerException: NativeIOException { IsNotFound: true } } => true,
        LayerExportException { InnerException: { } inner } => IsChanging(inner),
        _ => false,
    };
}
