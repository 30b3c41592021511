using System.Text.Json.Nodes;
using LayerExportApi.Security;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace LayerExportApi.Hosting;

/// <summary>Adds <c>/healthz</c> and <c>/readyz</c> to the OpenAPI document, with what the probes <see cref="HealthExtensions"/> maps answer.</summary>
/// <remarks>
/// The generator cannot see them: a health check endpoint is a request pipeline, with no handler method to
/// describe. They are anonymous, so they carry no security requirement and no 401.
/// </remarks>
internal sealed class HealthProbeDocumentation(TokenHashes tokens) : IOpenApiDocumentTransformer
{
    private const string Tag = "Health";

    /// <inheritdoc />
    public Task TransformAsync(OpenApiDocument document, OpenApiDocumentTransformerContext context, CancellationToken cancellationToken)
    {
        document.Tags ??= new HashSet<OpenApiTag>();
        document.Tags.Add(new OpenApiTag { Name = Tag, Description = "Probes for an orchestrator; no token needed, never queued." });
        document.Paths[HealthExtensions.LivenessPath] = Probe(
            document,
            "Liveness",
            "Whether the process answers.",
            "'Healthy' while the server runs; no check is made.",
            notReady: null);
        document.Paths[HealthExtensions.ReadinessPath] = Probe(
            document,
            "Readiness",
            "Whether the layer store can be read.",
            "'Healthy': the store root is the directory opened at start-up and the store lists its layers.",
            notReady: "not-ready: the store root is gone, was replaced by another directory (restart to serve it), cannot be listed, or did not answer within LayerStore:Access:ReadinessTimeout; the detail gives no path.");
        return Task.CompletedTask;
    }

    private OpenApiPathItem Probe(OpenApiDocument document, string operationId, string summary, string healthy, string? notReady)
    {
        // HEAD answers as GET without a body (ReadOnlyMethods), as on every endpoint; its responses are its own objects,
        // since the document transformer that drops HEAD's bodies edits them in place.
        OpenApiOperation Operation(string id) => new()
        {
            OperationId = id,
            Summary = summary,
            Tags = new HashSet<OpenApiTagReference> { new(Tag, document) },
            Responses = Responses(document, healthy, notReady),
        };

        return new OpenApiPathItem
        {
            Operations = new Dictionary<HttpMethod, OpenApiOperation>
            {
                [HttpMethod.Get] = Operation(operationId),
                [HttpMethod.Head] = Operation($"{operationId}Head"),
            },
        };
    }

    private OpenApiResponses Responses(OpenApiDocument document, string healthy, string? notReady)
    {
        var responses = new OpenApiResponses
        {
            ["200"] = new OpenApiResponse
            {
                Description = healthy,
                Content = new Dictionary<string, OpenApiMediaType>
                {
                    ["text/plain"] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String }, Example = JsonValue.Create("Healthy") },
                },
            },
        };
        if (notReady is not null)
        {
            responses["503"] = ProblemDocumentation.Response(document, notReady);
        }

        // LoopbackHostCheck runs before every endpoint, the probes included, and answers 421 only without tokens.
        if (!tokens.Enabled)
        {
            responses["421"] = ProblemDocumentation.Response(document, "foreign-host: over loopback, Host names a domain other than localhost.");
        }

        return responses;
    }
}
