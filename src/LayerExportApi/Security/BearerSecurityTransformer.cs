using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace LayerExportApi.Security;

/// <summary>Declares the bearer scheme in the OpenAPI document, and requires it everywhere, when tokens are configured.</summary>
internal sealed class BearerSecurityTransformer(TokenHashes tokens) : IOpenApiDocumentTransformer
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
        document.Security ??= [];
        document.Security.Add(new OpenApiSecurityRequirement
        {
            [new OpenApiSecuritySchemeReference(BearerTokenHandler.SchemeName, document)] = [],
        });
        return Task.CompletedTask;
    }
}
