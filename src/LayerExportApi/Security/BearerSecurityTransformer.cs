using System.Globalization;
using LayerExportApi.Hosting;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Net.Http.Headers;
using Microsoft.OpenApi;

namespace LayerExportApi.Security;

/// <summary>When tokens are configured: the bearer scheme in the document, and on every operation that needs a token, the requirement and its 401.</summary>
/// <remarks>Per operation, not for the whole document: the health probes are anonymous.</remarks>
internal sealed class BearerSecurityTransformer(TokenHashes tokens) : IOpenApiDocumentTransformer, IOpenApiOperationTransformer
{
    /// <inheritdoc />
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        if (!tokens.Enabled)
        {
            return Task.CompletedTask;
        }

        document.Components ??= new OpenApiComponents();
        document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
        document.Components.SecuritySchemes[BearerTokenHandler.SchemeName] = new OpenApiSecurityScheme
        {
            Type = SecuritySchemeType.Http,
            Scheme = "bearer",
            Description = "A token whose SHA-256 the server is configured with (Authentication:TokenSha256Hashes).",
        };
        return Task.CompletedTask;
    }

    /// <inheritdoc />
    public Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        // The fallback policy covers every endpoint not marked anonymous.
        if (!tokens.Enabled || context.Description.ActionDescriptor.EndpointMetadata.OfType<IAllowAnonymous>().Any())
        {
            return Task.CompletedTask;
        }

        var document = context.Document ?? throw new InvalidOperationException("an operation is transformed without its document");
        operation.Security ??= [];
        operation.Security.Add(new OpenApiSecurityRequirement
        {
            [new OpenApiSecuritySchemeReference(BearerTokenHandler.SchemeName, document)] = [],
        });
        var unauthorized = ProblemDocumentation.Response(document, "No bearer token, or not an accepted one (unauthorized, invalid-token).");
        unauthorized.Headers = new Dictionary<string, IOpenApiHeader>
        {
            [HeaderNames.WWWAuthenticate] = new OpenApiHeader
            {
                Description = $"{BearerTokenHandler.SchemeName} realm=\"{BearerTokenHandler.Realm}\", plus error=\"invalid_token\" when a credential was presented (RFC 6750).",
                Schema = new OpenApiSchema { Type = JsonSchemaType.String },
            },
            [HeaderNames.CacheControl] = new OpenApiHeader { Description = "no-store", Schema = new OpenApiSchema { Type = JsonSchemaType.String } },
        };
        operation.Responses ??= [];
        operation.Responses[StatusCodes.Status401Unauthorized.ToString(CultureInfo.InvariantCulture)] = unauthorized;
        return Task.CompletedTask;
    }
}
