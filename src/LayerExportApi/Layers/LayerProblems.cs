using System.Diagnostics.CodeAnalysis;
using LayerExport.Core;
using LayerExport.Core.Export;
using LayerExport.Core.Native;
using LayerExport.Core.Store;
using Polly.Timeout;
using Microsoft.AspNetCore.Http.HttpResults;

namespace LayerExportApi.Layers;

/// <summary>Maps store refusals to RFC 7807 problem responses.</summary>
internal static class LayerProblems
{
    /// <summary>The problem response for <paramref name="exception"/>.</summary>
    public static ProblemHttpResult For(LayerStoreException exception) => exception switch
    {
        InvalidLayerIdException => Problem(StatusCodes.Status400BadRequest, "Invalid layer ID", "invalid-layer-id", exception),
        LayerNotFoundException => Problem(StatusCodes.Status404NotFound, "Layer not found", "layer-not-found", exception),
        ParentChainMismatchException mismatch => Problem(
            StatusCodes.Status409Conflict,
            "Parent chain does not match",
            "parent-chain-mismatch",
            exception,
            new Dictionary<string, object?> { ["recordedChain"] = mismatch.RecordedChain }),
        LayerRefusedException => Problem(StatusCodes.Status403Forbidden, "Layer refused", "layer-refused", exception),
        LayerStoreUnavailableException => Problem(StatusCodes.Status503ServiceUnavailable, "Layer store unavailable", "store-unavailable", exception),
        // A layer the store cannot read for want of an fscrypt key is unreadable, as its walk would say, not inconsistent.
        LayerStoreCorruptException { InnerException: NativeIOException { IsKeyNotLoaded: true } } => Unreadable(exception),
        WindowsLayerFormatException => Problem(StatusCodes.Status500InternalServerError, "Windows layer malformed", "windows-layer-malformed", exception),
        _ => Problem(StatusCodes.Status500InternalServerError, "Layer store is inconsistent", "store-inconsistent", exception),
    };

    /// <summary>Maps any failure before the body left (the pre-stream phase, or an export that sent nothing yet) that has a problem response; false for real bugs.</summary>
    public static bool TryMap(Exception exception, [NotNullWhen(true)] out ProblemHttpResult? problem)
    {
        problem = exception switch
        {
            LayerStoreException store => For(store),
            LayerExportException { InnerException: LayerStoreException store } => For(store),
            ServiceStoppingException => Problem(StatusCodes.Status503ServiceUnavailable, "Service stopping", "service-stopping", exception),
            TimeoutRejectedException => Problem(StatusCodes.Status503ServiceUnavailable, "Layer store too slow", "store-timeout", exception),
            // A tar found not to be the one announced, and not judged the store's fault (a generated tar), is of
            // files that changed since they were surveyed or their digest was announced.
            _ when ExportPreparation.IsChanging(exception) || exception is LayerExportException { InnerException: TarMismatchException } => Problem(StatusCodes.Status503ServiceUnavailable, "Layer changing", "layer-changing", exception),
            // Still so after the retries, the server ran out of descriptors: nothing about the layer, and another try may pass.
            _ when OutOfFileDescriptors(exception) => Problem(StatusCodes.Status503ServiceUnavailable, "Server out of file descriptors", "out-of-file-descriptors", exception),
            LayerExportException or IOException => Unreadable(exception),
            _ => null,
        };
        return problem is not null;
    }

    private static bool OutOfFileDescriptors(Exception exception) => exception switch
    {
        NativeIOException native => native.IsOutOfFileDescriptors,
        LayerExportException { InnerException: { } inner } => OutOfFileDescriptors(inner),
        _ => false,
    };

    /// <summary>The problem response for a layer that could not be read before the body started.</summary>
    public static ProblemHttpResult Unreadable(Exception exception) =>
        Problem(StatusCodes.Status500InternalServerError, "Layer unreadable", "layer-unreadable", exception);

    private static ProblemHttpResult Problem(int status, string title, string type, Exception exception, IDictionary<string, object?>? extensions = null) =>
        TypedResults.Problem(
            detail: exception.Message,
            statusCode: status,
            title: title,
            type: $"urn:layer-export:problem:{type}",
            extensions: extensions);
}
