using LayerExportApi.Security;

namespace LayerExportApi.Hosting;

/// <summary>The OpenAPI document at <c>/openapi/v1.json</c> and Swagger UI at <c>/swagger</c>.</summary>
internal static class ApiDocumentationExtensions
{
    /// <summary>Registers the built-in OpenAPI document generator.</summary>
    public static WebApplicationBuilder AddApiDocumentation(this WebApplicationBuilder builder)
    {
        builder.Services
            // Numbers are written as numbers and no request reads JSON, so the schemas say "integer", not "integer or string".
            .ConfigureHttpJsonOptions(static options => options.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict)
            .AddOpenApi(options =>
        {
            options.AddDocumentTransformer((document, _, _) =>
            {
                document.Info.Title = "LayerExport";
                document.Info.Description = "Exports container image layers from a local layer store as OCI layer tar streams.";
                return Task.CompletedTask;
            });
            options.AddDocumentTransformer<BearerSecurityTransformer>();

            // Every endpoint answers GET and HEAD under one name; operation IDs must be unique in the document.
            options.AddOperationTransformer((operation, context, _) =>
            {
                if (HttpMethods.IsHead(context.Description.HttpMethod ?? string.Empty) && operation.OperationId is { } id)
                {
                    operation.OperationId = $"{id}Head";
                }

                return Task.CompletedTask;
            });
        });
        return builder;
    }

    /// <summary>Serves the document and the UI that reads it, both without a token.</summary>
    /// <remarks>
    /// Neither holds layer data, and a browser has to load the UI before its Authorize button can add the token.
    /// As endpoints (not middleware after authorization) they can be marked anonymous; the loopback host check
    /// still runs before them.
    /// </remarks>
    public static WebApplication MapApiDocumentation(this WebApplication app)
    {
        app.MapOpenApi().AllowAnonymous();
        app.MapSwaggerUI("swagger", static options => options.SwaggerEndpoint("/openapi/v1.json", "LayerExport v1"))
            .AllowAnonymous();
        return app;
    }
}
