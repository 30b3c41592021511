using System.Text.Json.Nodes;
using Microsoft.OpenApi;

namespace LayerExportApi.Layers;

/// <summary>What the OpenAPI document cannot learn from the handlers: the compression values and the tar endpoint's headers.</summary>
/// <remarks>Swagger UI offers only what the document names, so a header left out there cannot be tried from it.</remarks>
internal static class OperationDocumentation
{
    private static readonly (string Name, string Description)[] TarRequestHeaders =
    [
        ("Range", "One byte range, e.g. 'bytes=0-1023': 206 (plain tar; gzip and zstd once their digest is known)."),
        ("If-Range", "The strong ETag the range is of; another one gets the whole body with 200."),
        ("If-None-Match", "ETags (or '*') of a copy the client holds: 304 when one is this body's."),
        ("If-Match", "ETags (or '*') this body must have: 412 otherwise (the digest is computed first when not known)."),
    ];

    private static readonly (string Name, string Description)[] TarResponseHeaders =
    [
        ("Docker-Content-Digest", "sha256 digest of the body, when known before it starts."),
        ("ETag", "The same digest, quoted: a strong entity tag."),
        ("Accept-Ranges", "'bytes' where ranges are honoured."),
        ("Content-Range", "The range sent (206), or 'bytes */<size>' (416)."),
        ("Content-Disposition", "attachment, with the file name <id>.tar, .tar.gz or .tar.zst."),
    ];

    /// <summary>Lists the values of <c>compression</c>.</summary>
    public static Task DescribeCompression(OpenApiOperation operation)
    {
        if (operation.Parameters?.FirstOrDefault(static p => p.Name == "compression") is { Schema: OpenApiSchema schema })
        {
            schema.Enum = [JsonValue.Create("none"), JsonValue.Create("gzip"), JsonValue.Create("zstd")];
        }

        return Task.CompletedTask;
    }

    /// <summary>Adds the tar endpoint's conditional and range request headers, and its response headers.</summary>
    public static Task DescribeTar(OpenApiOperation operation)
    {
        DescribeCompression(operation);
        operation.Parameters ??= [];
        foreach (var (name, description) in TarRequestHeaders)
        {
            operation.Parameters.Add(new OpenApiParameter { Name = name, In = ParameterLocation.Header, Description = description, Schema = new OpenApiSchema { Type = JsonSchemaType.String } });
        }

        foreach (var status in (string[])["200", "206"])
        {
            if (operation.Responses?.TryGetValue(status, out var response) is true && response is OpenApiResponse described)
            {
                described.Headers ??= new Dictionary<string, IOpenApiHeader>();
                foreach (var (name, description) in TarResponseHeaders)
                {
                    described.Headers[name] = new OpenApiHeader { Description = description, Schema = new OpenApiSchema { Type = JsonSchemaType.String } };
                }
            }
        }

        return Task.CompletedTask;
    }
}
