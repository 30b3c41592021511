using System.ComponentModel;
using LayerExport.Core.Blobs;
using LayerExport.Core.Compression;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using Microsoft.AspNetCore.Http.HttpResults;
using LayerExportApi.Hosting;
using LayerExportApi.Limits;
using Microsoft.AspNetCore.Mvc;
using Microsoft.Net.Http.Headers;

namespace LayerExportApi.Layers;

/// <summary>The <c>/layers</c> endpoint group: list, describe and export layers.</summary>
internal static class LayerEndpoints
{
    private const string IdDescription = "Layer ID; in the containers-storage layout also a name from layers.json, as one percent-encoded path segment (a '/' as %2F)";

    /// <summary>Maps the group.</summary>
    public static RouteGroupBuilder MapLayerEndpoints(this IEndpointRouteBuilder routes)
    {
        var layers = routes.MapGroup("/layers").WithTags("Layers");
        layers.AddEndpointFilterFactory(KnownQueryParameters.Refuse);

        // Without tokens, a loopback request whose Host names another domain gets 421 (LoopbackHostCheck).
        layers.ProducesProblem(StatusCodes.Status421MisdirectedRequest);

        layers.MapMethods("/", [HttpMethods.Get, HttpMethods.Head], ListLayers)
            .WithName("ListLayers")
            .WithDescription("Every layer ID with its direct parent (null for a base layer), ordered by ID.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status500InternalServerError)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        layers.MapMethods("/{id}", [HttpMethods.Get, HttpMethods.Head], DescribeLayer)
            .WithName("DescribeLayer")
            .WithDescription("The layer's ID, its recorded parent chain (nearest first) and the store layout.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status500InternalServerError)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        layers.MapMethods("/{id}/tar", [HttpMethods.Get, HttpMethods.Head], ExportLayerTar)
            .RequireExportSlot()
            .WithName("ExportLayerTar")
            .AddOpenApiOperationTransformer((operation, _, _) => OperationDocumentation.DescribeTar(operation))
            .WithDescription(
                "Streams the layer's changes as an OCI layer tar, plain or compressed (whiteouts for deletions, hard links, "
                + "PAX headers where ustar cannot hold a field). The same layer always gives the same bytes. "
                + "HEAD answers the headers only. Range and If-Range work on every representation; for gzip and zstd the "
                + "body's digest is computed first when not known. A failure after the first byte ends the transfer short of its length.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status406NotAcceptable)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status416RangeNotSatisfiable)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status500InternalServerError)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        layers.MapMethods("/{id}/descriptor", [HttpMethods.Get, HttpMethods.Head], DescribeRepresentation)
            .RequireExportSlot()
            .WithName("DescribeLayerRepresentation")
            .AddOpenApiOperationTransformer((operation, _, _) => OperationDocumentation.DescribeCompression(operation))
            .WithDescription(
                "An OCI descriptor (mediaType, digest, size) of the representation, plus the layer's diffID. "
                + "Computed once per layer state (concurrent requests share the work) and cached across restarts; "
                + "a layer that changed on disk gets a new descriptor. With BlobCache:Directory set, the gzip or zstd body "
                + "it is computed from is kept, so the download that follows it is read back, not compressed again.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .Produces(StatusCodes.Status304NotModified)
            .ProducesProblem(StatusCodes.Status412PreconditionFailed)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status500InternalServerError)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable);

        return layers;
    }

    /// <summary>List the layers in the store.</summary>
    public static async Task<Results<Ok<IReadOnlyList<LayerSummary>>, StatusCodeHttpResult, ProblemHttpResult>> ListLayers(
        HttpRequest request,
        ILayerStore store,
        ExportPreparation preparation,
        CancellationToken cancellationToken)
    {
        if (ConditionalHeaders.MalformedMatch(request) is { } malformed)
        {
            return malformed;
        }

        try
        {
            return ConditionalHeaders.Untagged(request, TypedResults.Ok(await preparation.ReadAsync(store.List, cancellationToken)));
        }
        catch (Exception e) when (LayerProblems.TryMap(e, out var problem))
        {
            return problem;
        }
    }

    /// <summary>Describe one layer.</summary>
    public static async Task<Results<Ok<LayerDescription>, StatusCodeHttpResult, ProblemHttpResult>> DescribeLayer(
        [Description(IdDescription)] string id,
        HttpRequest request,
        ILayerStore store,
        ExportPreparation preparation,
        CancellationToken cancellationToken)
    {
        if (ConditionalHeaders.MalformedMatch(request) is { } malformed)
        {
            return malformed;
        }

        try
        {
            var layer = LayerPathSegment.Read(request, id);
            return ConditionalHeaders.Untagged(request, TypedResults.Ok(await preparation.ReadAsync(() => store.Describe(store.ParseId(layer)), cancellationToken)));
        }
        catch (Exception e) when (LayerProblems.TryMap(e, out var problem))
        {
            return problem;
        }
    }

    /// <summary>Download a layer as an OCI layer tar.</summary>
    public static async Task<Results<LayerTarResult, ProblemHttpResult>> ExportLayerTar(
        [Description(IdDescription)] string id,
        [FromQuery(Name = "parent"), Description("The caller's view of the parent chain, nearest first; must be the start of the recorded chain.")] string[]? parent,
        [FromQuery(Name = "compression"), Description("none (default), gzip or zstd; the OCI media types in Accept work too.")] string? compression,
        HttpRequest request,
        ILayerStore store,
        ExportAdmission admission,
        ExportPreparation preparation,
        LayerDescriptors descriptors,
        BlobCache blobs,
        ILogger<LayerTarResult> logger,
        CancellationToken cancellationToken)
    {
        if (RepresentationNegotiation.Negotiate(compression, request.Headers.Accept, out var refusal) is not { } chosen)
        {
            return refusal!;
        }

        if (ConditionalHeaders.Malformed(request) is { } malformed)
        {
            return malformed;
        }

        // The plain tar serves ranges in every state: without an If-Range to void it, a malformed one is refused
        // before the slot. A compressed body's depends on whether its digest is known, which the survey tells.
        if (chosen == LayerCompression.None && ByteRangeRequest.IsMalformed(request))
        {
            return ByteRangeRequest.MalformedProblem();
        }

        try
        {
            var layer = LayerPathSegment.Read(request, id);
            RequireWellFormedIds(store, layer, parent);
            if (await admission.EnterAsync(request.HttpContext, chosen, token => preparation.RefuseNowAsync(layer, parent ?? [], token), cancellationToken) is { } refused)
            {
                return refused;
            }

            // A whole download may take its length (and digest, when known) from the layer's last survey, sparing
            // a walk: the export checks both before its last bytes, so a layer changed since fails that one download
            // and the next one surveys afresh. HEAD, conditional and range requests act on the survey before any
            // byte is sent, so they always take a fresh one; so does a download of a state whose body is kept, since
            // a kept body is sent without reading the layer, whose state only a fresh survey vouches for.
            var wholeDownload = preparation.ReusesLastSurvey
                && HttpMethods.IsGet(request.Method)
                && !request.Headers.ContainsKey(HeaderNames.Range)
                && !request.Headers.ContainsKey(HeaderNames.IfNoneMatch)
                && !request.Headers.ContainsKey(HeaderNames.IfMatch)
                && !request.Headers.ContainsKey(HeaderNames.IfRange);
            LayerSurvey? Assumed(string id) =>
                descriptors.LastSurvey(id) is { } last
                && !(chosen != LayerCompression.None && blobs.IsOn && blobs.Holds(descriptors.TryGetKnown(id, last, chosen)))
                    ? last
                    : null;
            var (export, survey, surveyed) = await preparation.PrepareAsync(layer, parent ?? [], wholeDownload ? Assumed : static _ => null, cancellationToken);
            descriptors.RememberSurvey(export.Layer.Id, survey);
            var known = descriptors.TryGetKnown(export.Layer.Id, survey, chosen);
            var unverified = chosen == LayerCompression.None && survey.RecordedDiffId is not null;
            var ifMatch = (known is null || unverified) && request.GetTypedHeaders().IfMatch.Any(static tag => !tag.Equals(EntityTagHeaderValue.Any));
            var compressedRange = known is null && chosen != LayerCompression.None && HttpMethods.IsGet(request.Method) && ByteRangeRequest.AsksForOneRange(request);
            var ifRange = known is null && HttpMethods.IsGet(request.Method) && ByteRangeRequest.NamesOneRange(request) && ConditionalHeaders.IfRangeNamesADigest(request);
            var announcedUnchecked = unverified && survey.LengthVouchedByDiffIdAlone
                && (HttpMethods.IsHead(request.Method) || request.Headers.ContainsKey(HeaderNames.IfNoneMatch));
            if (ifMatch || compressedRange || ifRange || announcedUnchecked)
            {
                // If-Match and If-Range can only be answered against the digest, and a range of a compressed body only
                // against its length, so the descriptor is computed first, as the descriptor endpoint does: a download cut before
                // any export of this state was complete still resumes. A recorded diffID is checked first, once per
                // layer state, as the descriptor endpoint checks it; so it is before a HEAD or a 304 announces it with
                // a length only that diffID can tell from a record cut short, which no body will check.
                try
                {
                    known = await descriptors.GetAsync(export.Layer.Id, survey, chosen, cancellationToken);
                }
                catch
                {
                    export.Dispose();
                    throw;
                }
            }

            return new LayerTarResult(export, chosen, survey, surveyed, known, descriptors, blobs, logger);
        }
        catch (Exception e) when (LayerProblems.TryMap(e, out var problem))
        {
            return problem;
        }
    }

    /// <summary>Digest and size of a layer representation.</summary>
    public static async Task<Results<Ok<DescriptorResponse>, StatusCodeHttpResult, ProblemHttpResult>> DescribeRepresentation(
        [Description(IdDescription)] string id,
        [FromQuery(Name = "parent"), Description("The caller's view of the parent chain, nearest first.")] string[]? parent,
        [FromQuery(Name = "compression"), Description("none (default), gzip or zstd.")] string? compression,
        HttpContext context,
        ILayerStore store,
        ExportAdmission admission,
        ExportPreparation preparation,
        LayerDescriptors descriptors,
        CancellationToken cancellationToken)
    {
        if (RepresentationNegotiation.Choose(compression, [], out var refusal) is not { } chosen)
        {
            return refusal!;
        }

        if (ConditionalHeaders.MalformedMatch(context.Request) is { } malformed)
        {
            return malformed;
        }

        try
        {
            var layer = LayerPathSegment.Read(context.Request, id);
            RequireWellFormedIds(store, layer, parent);
            if (await admission.EnterAsync(context, chosen, token => preparation.RefuseNowAsync(layer, parent ?? [], token), cancellationToken) is { } refused)
            {
                return refused;
            }

            var (export, survey) = await preparation.PrepareAsync(layer, parent ?? [], cancellationToken);
            descriptors.RememberSurvey(export.Layer.Id, survey);
            using (export)
            {
                var descriptor = await descriptors.GetAsync(export.Layer.Id, survey, chosen, cancellationToken);
                return ConditionalHeaders.Untagged(context.Request, TypedResults.Ok(new DescriptorResponse(descriptor.MediaType, descriptor.Digest.Value, descriptor.Size, descriptor.DiffId.Value)));
            }
        }
        catch (Exception e) when (LayerProblems.TryMap(e, out var problem))
        {
            return problem;
        }
    }

    // What the request alone decides is answered before it takes a slot: a malformed ID is no reason to wait for one.
    private static void RequireWellFormedIds(ILayerStore store, string id, string[]? parents)
    {
        store.ParseId(id);
        foreach (var named in parents ?? [])
        {
            try
            {
                store.ParseId(named);
            }
            catch (InvalidLayerIdException e)
            {
                // The path's ID is well formed: the detail says which value is not (an empty one would name nothing).
                throw e.Of("parent");
            }
        }
    }
}
