using System.Text.Json.Nodes;
using Microsoft.Net.Http.Headers;
using Microsoft.OpenApi;

namespace LayerExportApi.Layers;

/// <summary>What the OpenAPI document cannot learn from the handlers: the compression values and the tar endpoint's headers.</summary>
/// <remarks>Swagger UI offers only what the document names, so a header left out there cannot be tried from it.</remarks>
internal static class OperationDocumentation
{
    private static readonly (string Name, string Description)[] TarRequestHeaders =
    [
        ("Range", "One byte range, e.g. 'bytes=0-1023': 206 (for gzip and zstd the body's digest is computed first when not known)."),
        ("If-Range", "The strong ETag the range is of (a digest not known yet is computed first); another one gets the whole body with 200."),
        ("If-None-Match", "ETags (or '*') of a copy the client holds: 304 when one is this body's."),
        ("If-Match", "ETags (or '*') this body must have: 412 otherwise (the digest is computed first when not known)."),
    ];

    private static readonly (string Name, string Description) AcceptRanges = ("Accept-Ranges", "'bytes': every representation honours one byte range.");
    private static readonly (string Name, string Description) Digest = ("Docker-Content-Digest", "sha256 digest of the body, when known before it starts.");
    private static readonly (string Name, string Description) ETag = ("ETag", "The same digest, quoted: a strong entity tag, when known.");
    private static readonly (string Name, string Description) Disposition = ("Content-Disposition", "attachment, with the file name <id>.tar, .tar.gz or .tar.zst.");
    private static readonly (string Name, string Description) Vary = ("Vary", "'Accept': the representation depends on it.");

    // What LayerTarResult sends with each status; the other problems go out without the tar's headers.
    private static readonly Dictionary<string, (string Name, string Description)[]> TarResponseHeaders = new()
    {
        ["200"] = [(HeaderNames.ContentLength, "Bytes of the body: always for the plain tar; for gzip and zstd once their digest is known (else the body is chunked)."), AcceptRanges, Digest, ETag, Disposition, Vary, (HeaderNames.Trailer, "'Docker-Content-Digest', over HTTP/2 when the digest is not known before the body: it then follows the body as a trailer.")],
        ["206"] = [(HeaderNames.ContentLength, "Bytes of the range."), (HeaderNames.ContentRange, "The range sent and the body's size, e.g. 'bytes 0-1023/8192'."), AcceptRanges, Digest, ETag, Disposition, Vary],
        ["304"] = [Digest, ("ETag", "The body's strong entity tag, when known (If-None-Match: * matches before it is)."), Vary],
        ["416"] = [(HeaderNames.ContentRange, "'bytes */<size>': the body's size.")],
    };

    /// <summary>Lists the values of <c>compression</c>.</summary>
    public static Task DescribeCompression(OpenApiOperation operation)
    {
        if (operation.Parameters?.FirstOrDefault(static p => p.Name == "compression") is { Schema: OpenApiSchema schema })
        {
            schema.Enum = [JsonValue.Create("none"), JsonValue.Create("gzip"), JsonValue.Create("zstd")];
        }

        return Task.CompletedTask;
    }

    /// <summary>Adds the tar endpoint's conditional and range request headers, and the response headers of each status.</summary>
    public static Task DescribeTar(OpenApiOperation operation)
    {
        DescribeCompression(operation);
        operation.Parameters ??= [];
        foreach (var (name, description) in TarRequestHeaders)
        {
            operation.Parameters.Add(new OpenApiParameter { Name = name, In = ParameterLocation.Header, Description = description, Schema = new OpenApiSchema { Type = JsonSchemaType.String } });
        }

        foreach (var (status, headers) in TarResponseHeaders)
        {
            if (operation.Responses?.TryGetValue(status, out var response) is true && response is OpenApiResponse described)
            {
                foreach (var (name, description) in headers)
                {
                    AddHeader(described, name, description, name == HeaderNames.ContentLength ? JsonSchemaType.Integer : JsonSchemaType.String);
                }
            }
        }

        return Task.CompletedTask;
    }

    /// <summary>Documents the response header <paramref name="name"/> on <paramref name="response"/>.</summary>
    public static void AddHeader(OpenApiResponse response, string name, string description, JsonSchemaType type)
    {
        response.Headers ??= new Dictionary<string, IOpenApiHeader>();
        response.Headers[name] = new OpenApiHeader { Description = description, Schema = new OpenApiSchema { Type = type } };
    }
}
