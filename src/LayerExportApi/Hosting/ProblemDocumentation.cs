using Microsoft.AspNetCore.Mvc;
using Microsoft.OpenApi;

namespace LayerExportApi.Hosting;

/// <summary>OpenAPI responses whose body is an RFC 7807 problem, for the ones no endpoint metadata describes.</summary>
internal static class ProblemDocumentation
{
    /// <summary>The problem media type.</summary>
    public const string MediaType = "application/problem+json";

    /// <summary>A response with <paramref name="description"/> and a problem body.</summary>
    /// <remarks>The <c>ProblemDetails</c> schema is in the document because the layer endpoints declare their problems.</remarks>
    public static OpenApiResponse Response(OpenApiDocument document, string description) => new()
    {
        Description = description,
        Content = new Dictionary<string, OpenApiMediaType>
        {
            [MediaType] = new OpenApiMediaType { Schema = new OpenApiSchemaReference(nameof(ProblemDetails), document) },
        },
    };
}
