using System.IO.Pipelines;
using System.Reflection;
using LayerExport.Core;
using LayerExport.Core.Blobs;
using LayerExport.Core.Compression;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using Microsoft.AspNetCore.Http.Metadata;
using Microsoft.Net.Http.Headers;

namespace LayerExportApi.Layers;

/// <summary>Answers a tar request for a prepared export in one representation: headers, conditions, range, then the body.</summary>
/// <remarks>
/// What is known before the body starts is announced: the exact length of the plain tar always, the digest
/// (as <c>Docker-Content-Digest</c> and a strong ETag) when this layer state was exported before. The body goes
/// out through <see cref="BodyTransfer"/>, which answers a failure with a problem while nothing of the body has
/// left, and makes it a failed transfer after that. A gzip or zstd body kept in the <see cref="BlobCache"/> is sent
/// from there when the survey was taken for this request (<c>surveyedNow</c>), not the last one taken on trust.
/// </remarks>
internal sealed class LayerTarResult(
    PreparedExport export,
    LayerCompression compression,
    LayerSurvey survey,
    bool surveyedNow,
    LayerDescriptor? known,
    LayerDescriptors descriptors,
    BlobCache blobs,
    ILogger logger) : IResult, IEndpointMetadataProvider
{
    /// <summary>The header registries use for a blob's digest.</summary>
    public const string DigestHeader = "Docker-Content-Digest";

    /// <inheritdoc />
    public async Task ExecuteAsync(HttpContext httpContext)
    {
        using var _ = export;
        var request = httpContext.Request;
        var response = httpContext.Response;
        var layerId = export.Layer.Id;
        response.Headers.Vary = HeaderNames.Accept;
        EntityTagHeaderValue? etag = null;
        if (known is not null)
        {
            etag = new EntityTagHeaderValue($"\"{known.Digest}\"");
            response.Headers[DigestHeader] = known.Digest.Value;
            response.Headers.ETag = etag.ToString();
        }

        // RFC 9110, section 13.2.2: If-Match first, then If-None-Match, then the range.
        if (!ConditionalHeaders.IfMatchHolds(request, etag))
        {
            await WriteProblemAsync(httpContext, StatusCodes.Status412PreconditionFailed, "Precondition failed", "precondition-failed", $"If-Match names no entity tag of this {RepresentationName}; its ETag is {etag?.ToString() ?? "not known"}.");
            return;
        }

        // A 304 carries the validators and Vary, not what describes the body it leaves out (RFC 9110, section
        // 15.4.5). Docker-Content-Digest stays: it is the ETag in the header registry clients read.
        if (ConditionalHeaders.IsNotModified(request, etag))
        {
            response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }

        response.ContentType = LayerMediaType.For(compression);
        response.Headers.ContentDisposition = new ContentDispositionHeaderValue("attachment")
        {
            FileName = $"\"{layerId}{LayerMediaType.FileSuffix(compression)}\"",
        }.ToString();

        // A compressed body is served in ranges against its descriptor, which the endpoint computes first for a range
        // when no complete export of this layer state left it: a gzip body with a block index is compressed again from
        // the block that holds the start, any other from its start. An index of another tar length than the one surveyed
        // (a damaged entry) would ask the tar for bytes it does not have: the body is then made whole and checked.
        var gzipIndex = compression == LayerCompression.Gzip && known?.GzipIndex is { } index && index.Size == known.Size && index.TarLength == survey.TarSize ? index : null;
        var ranges = compression == LayerCompression.None || known is not null;
        var rangeable = compression == LayerCompression.None ? survey.TarSize : known?.Size ?? 0;
        response.ContentLength = known?.Size ?? (compression == LayerCompression.None ? survey.TarSize : null);

        // Every representation honours a single range (a compressed one computes its descriptor first when needed).
        response.Headers.AcceptRanges = "bytes";

        // A range is defined for GET only (RFC 9110, section 14.2): HEAD answers as the whole GET would.
        var range = ranges && HttpMethods.IsGet(request.Method) ? ByteRangeRequest.From(request, rangeable, etag) : default;
        switch (range.Kind)
        {
            case ByteRangeKind.Malformed:
                response.Headers.Clear();
                await ByteRangeRequest.MalformedProblem().ExecuteAsync(httpContext);
                return;
            case ByteRangeKind.Unsatisfiable:
                response.Headers.ContentRange = new ContentRangeHeaderValue(rangeable).ToString();
                await WriteProblemAsync(httpContext, StatusCodes.Status416RangeNotSatisfiable, "Range not satisfiable", "range-not-satisfiable", $"The {RepresentationName} is {rangeable} bytes long.");
                return;
            case ByteRangeKind.Partial:
                if (compression == LayerCompression.None && survey.RecordedDiffId is not null)
                {
                    // A range of a reassembled tar goes out under the recorded diffID, which it cannot check itself:
                    // only a range that will be served waits for the whole tar of this state to have been checked.
                    try
                    {
                        await descriptors.VerifyRecordedAsync(layerId, survey, httpContext.RequestAborted);
                    }
                    catch (Exception e) when (LayerProblems.TryMap(e, out var problem))
                    {
                        response.Headers.Clear();
                        await problem.ExecuteAsync(httpContext);
                        return;
                    }
                }

                response.StatusCode = StatusCodes.Status206PartialContent;
                response.ContentLength = range.Length;
                response.Headers.ContentRange = new ContentRangeHeaderValue(range.Start, range.End, rangeable).ToString();
                break;
        }

        // Declared before HEAD returns: HEAD sends the header fields its GET would (RFC 9110, section 9.3.2).
        var trailer = range.Kind != ByteRangeKind.Partial && known is null && response.SupportsTrailers();
        if (trailer)
        {
            response.DeclareTrailer(DigestHeader);
        }

        if (HttpMethods.IsHead(request.Method))
        {
            return;
        }

        // A body kept from an earlier export of this state is read back, checked against its digest, not made again. A
        // survey taken on trust was of a state without one (LayerEndpoints); one kept since is not sent on its word.
        if (compression != LayerCompression.None && known is not null && surveyedNow && blobs.TryOpen(known) is { } kept)
        {
            using (kept)
            {
                await SendKeptAsync(httpContext, kept, range);
            }

            return;
        }

        if (range.Kind == ByteRangeKind.Partial)
        {
            // Tar bytes produced: a gzip range compresses the tar again from the start of its first block, another
            // compressed range from the tar's start.
            var tarFrom = compression == LayerCompression.None ? range.Start : gzipIndex is null ? 0 : (long)gzipIndex.Locate(range.Start).Block * gzipIndex.BlockSize;
            await new BodyTransfer(export, compression, descriptors, logger).RunAsync(
                httpContext,
                () => compression == LayerCompression.None ? Math.Clamp(export.Progress.BytesWritten - tarFrom, 0, range.Length) : Math.Max(0, export.Progress.BytesWritten - tarFrom),
                markIncomplete: false,
                async (body, aborted) =>
                {
                    try
                    {
                        await WriteRangeAsync(response, body, range.Start, range.End + 1, gzipIndex, aborted);
                    }
                    catch (Exception e) when (compression != LayerCompression.None && IsNotTheKnownBody(e))
                    {
                        // As for a whole download: kept, a descriptor this state does not make would fail every resume.
                        descriptors.ForgetKnown(layerId, survey.Fingerprint);
                        if (e is InvalidDataException)
                        {
                            // Found before a byte left (a gzip block unlike its index), it is answered as a whole download's
                            // mismatch is: the layer changing, retry; not an unexplained 500.
                            throw new LayerExportException("(compressed body)", e.Message, new TarMismatchException(e.Message));
                        }

                        throw;
                    }

                    return elapsed => ExportLog.RangeCompleted(logger, layerId, compression, range.Start, range.End, elapsed);
                });
            return;
        }

        await new BodyTransfer(export, compression, descriptors, logger).RunAsync(
            httpContext,
            () => export.Progress.BytesWritten,
            markIncomplete: compression == LayerCompression.None,
            async (body, aborted) =>
            {
                ExportSummary summary;
                // Kept from the second download of a state on, whose descriptor the first kept (so the state had settled):
                // a state pulled once costs neither the copy nor the disk.
                using var copy = compression == LayerCompression.None || known is null ? null : blobs.StartCopy(BlobCache.StateOf(layerId, survey.Fingerprint, compression));
                try
                {
                    summary = await export.WriteAsync(compression, body, Expected(known), copy, aborted);
                }
                catch (LayerExportException e) when (known is not null && e.InnerException is TarMismatchException)
                {
                    descriptors.ForgetKnown(layerId, survey.Fingerprint);
                    throw;
                }

                descriptors.Record(layerId, compression, summary);
                copy?.Keep(summary.Digest, summary.Size);
                if (survey.RecordedDiffId is null && summary.Fingerprint != survey.Fingerprint)
                {
                    // The layer changed without changing the tar's length: the next download announces what was read now.
                    descriptors.RememberSurvey(layerId, new LayerSurvey(summary.Bytes, summary.Entries, summary.Fingerprint));
                }

                if (trailer)
                {
                    response.AppendTrailer(DigestHeader, summary.Digest.Value);
                }

                return elapsed => ExportLog.Completed(logger, layerId, compression, summary.Size, summary.Entries, summary.Digest.Value, elapsed);
            });
    }

    // The kept body, whole or the range asked for; one found damaged or unreadable is removed, and fails this transfer only.
    private async Task SendKeptAsync(HttpContext httpContext, CachedBlob kept, ByteRangeRequest range)
    {
        var (start, end) = range.Kind == ByteRangeKind.Partial ? (range.Start, range.End + 1) : (0, kept.Descriptor.Size);
        await new BodyTransfer(export, compression, descriptors, logger).RunAsync(
            httpContext,
            static () => 0,
            markIncomplete: false,
            async (body, aborted) =>
            {
                LayerDescriptor read;
                try
                {
                    read = await kept.WriteAsync(body, start, end, aborted);
                }
                catch (InvalidDataException e)
                {
                    blobs.Remove(kept.Descriptor.Digest);
                    if (e.InnerException is not IOException)
                    {
                        descriptors.ForgetBodyCheck(export.Layer.Id, survey.Fingerprint, compression);
                    }

                    // As a body found unlike its descriptor: a retry gets it made again.
                    throw new LayerExportException("(kept body)", e.Message, new TarMismatchException(e.Message));
                }

                if (read.BodyCheck != kept.Descriptor.BodyCheck)
                {
                    descriptors.KeepBodyCheck(export.Layer.Id, survey.Fingerprint, compression, read);
                }

                httpContext.RequestServices.GetRequiredService<ExportMetrics>().KeptBodySent(compression);
                return elapsed => ExportLog.KeptBodySent(logger, export.Layer.Id, compression, start, end - 1, elapsed);
            });
    }

    // Bytes start to end (exclusive) of this representation: the plain tar from the entry that holds the start, an
    // indexed gzip body from the block that holds it, any other compressed body from its own start.
    private async Task WriteRangeAsync(HttpResponse response, PipeWriter body, long start, long end, GzipBlockIndex? gzipIndex, CancellationToken aborted)
    {
        if (compression == LayerCompression.None)
        {
            await export.WriteTarRangeAsync(body, start, end, aborted);
            return;
        }

        if (gzipIndex is not null)
        {
            await export.WriteGzipRangeAsync(body, gzipIndex, start, end, aborted);
            return;
        }

        var descriptor = known ?? throw new InvalidOperationException("a compressed body is served in ranges only once its descriptor is known");

        // Nothing of the range exists until the body before it is made again: the headers go first, so a client
        // that waits for them is not kept waiting that long.
        await response.StartAsync(aborted);
        await body.FlushAsync(aborted);
        await export.WriteCompressedRangeAsync(compression, body, descriptor, Expected(descriptor), start, end, aborted);
    }

    // What the response announces of the tar: a compressed body whose descriptor the plain tar's agrees with is
    // checked by its own digest alone, so the tar is not hashed (ExpectedTar.FixedByBody), and that digest by the
    // check kept with it, so the body is not hashed either (ExpectedTar.BodyCheckedByChecksum).
    private ExpectedTar Expected(LayerDescriptor? descriptor) => new(survey.TarSize, descriptor?.DiffId, descriptor?.Size, descriptor?.Digest)
    {
        DiffIdCorroborated = compression != LayerCompression.None && descriptor is not null && descriptors.Corroborates(export.Layer.Id, survey, descriptor),
        StateFingerprint = survey.Fingerprint,
        TarCheck = compression == LayerCompression.None ? descriptor?.TarCheck : null,
        BodyCheck = compression == LayerCompression.None ? null : descriptor?.BodyCheck,
    };

    // A compressed range found the body unlike its descriptor: another tar, block or digest than the one known.
    private static bool IsNotTheKnownBody(Exception exception) =>
        exception is TarMismatchException or InvalidDataException || exception.InnerException is TarMismatchException or InvalidDataException;

    // The headers already set describe the tar, not the problem; they are cleared first.
    private static async Task WriteProblemAsync(HttpContext httpContext, int status, string title, string type, string detail)
    {
        var contentRange = httpContext.Response.Headers.ContentRange;
        httpContext.Response.Headers.Clear();
        httpContext.Response.Headers.ContentRange = contentRange;
        await TypedResults.Problem(detail: detail, statusCode: status, title: title, type: $"urn:layer-export:problem:{type}").ExecuteAsync(httpContext);
    }

    // What the problem details call the body: "tar", "gzip body" or "zstd body".
    private string RepresentationName => compression == LayerCompression.None ? "tar" : $"{RepresentationNegotiation.Tag(compression)} body";

    /// <inheritdoc />
    public static void PopulateMetadata(MethodInfo method, EndpointBuilder builder)
    {
        builder.Metadata.Add(new ProducesResponseTypeMetadata(
            StatusCodes.Status200OK,
            typeof(Stream),
            [LayerMediaType.Tar, LayerMediaType.TarGzip, LayerMediaType.TarZstd]));
        builder.Metadata.Add(new ProducesResponseTypeMetadata(
            StatusCodes.Status206PartialContent,
            typeof(Stream),
            [LayerMediaType.Tar, LayerMediaType.TarGzip, LayerMediaType.TarZstd]));
        builder.Metadata.Add(new ProducesResponseTypeMetadata(StatusCodes.Status304NotModified, typeof(void), []));
    }
}
