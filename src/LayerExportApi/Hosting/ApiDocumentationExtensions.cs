using System.Globalization;
using System.Reflection;
using LayerExportApi.Layers;
using LayerExportApi.Limits;
using LayerExportApi.Security;
using Microsoft.AspNetCore.Mvc.Infrastructure;
using Microsoft.AspNetCore.Mvc.ModelBinding;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.Net.Http.Headers;
using Microsoft.OpenApi;

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
            options.AddOperationTransformer<BearerSecurityTransformer>();
            options.AddDocumentTransformer<HealthProbeDocumentation>();
            options.AddOperationTransformer(static (operation, context, _) =>
            {
                DescribeForEveryEndpoint(operation, context);
                return Task.CompletedTask;
            });

            // A document transformer runs after every operation transformer, the endpoints' own ones included.
            options.AddDocumentTransformer(static (document, _, _) =>
            {
                DescribeHeadWithoutBody(document);
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
        // Both would answer only GET, or every method with a 404; they are read like any other resource.
        app.MapOpenApi().WithMetadata(ReadOnlyMethods.Metadata).AllowAnonymous();
        app.MapSwaggerUI("swagger", static options => options.SwaggerEndpoint("/openapi/v1.json", "LayerExport v1"))
            .WithMetadata(ReadOnlyMethods.Metadata)
            .AllowAnonymous();

        // Swagger UI's stock page script, which Swashbuckle embeds and would serve, names the petstore's document;
        // our page loads Swashbuckle's index.js instead, so here it is an unknown path: every method, a token asked
        // for as anywhere outside the documentation, then the status code pages' 404.
        app.Map("swagger/swagger-initializer.js", static context =>
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            return Task.CompletedTask;
        });
        return app;
    }

    // The middleware in front of the endpoints answers too (421, HEAD); the generator sees only the endpoints.
    private static void DescribeForEveryEndpoint(OpenApiOperation operation, OpenApiOperationTransformerContext context)
    {
        // Every endpoint answers GET and HEAD under one name; operation IDs must be unique in the document.
        if (HttpMethods.IsHead(context.Description.HttpMethod ?? string.Empty) && operation.OperationId is { } id)
        {
            operation.OperationId = $"{id}Head";
        }

        DescribeNullableQueryParametersOptional(operation, context);

        // LoopbackHostCheck answers 421 only while no tokens are configured.
        if (context.ApplicationServices.GetRequiredService<TokenHashes>().Enabled)
        {
            operation.Responses?.Remove(StatusCodes.Status421MisdirectedRequest.ToString(CultureInfo.InvariantCulture));
        }

        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<ExportGateMetadata>().Any()
            && operation.Responses?.TryGetValue(StatusCodes.Status503ServiceUnavailable.ToString(CultureInfo.InvariantCulture), out var unavailable) is true
            && unavailable is OpenApiResponse response)
        {
            OperationDocumentation.AddHeader(
                response,
                HeaderNames.RetryAfter,
                "Seconds to wait (Limits:RetryAfterSeconds); sent with too-many-exports, not with store-timeout or service-stopping.",
                JsonSchemaType.Integer);
        }
    }

    // The request delegates generated at build time bind an absent nullable array (`parent`) to null, as the runtime's
    // own do, yet describe it as required, and Swagger UI then refuses to send a request without it.
    private static void DescribeNullableQueryParametersOptional(OpenApiOperation operation, OpenApiOperationTransformerContext context)
    {
        var nullability = new NullabilityInfoContext();
        foreach (var description in context.Description.ParameterDescriptions)
        {
            if (description.Source == BindingSource.Query
                && description.ParameterDescriptor is IParameterInfoParameterDescriptor { ParameterInfo: var info }
                && nullability.Create(info).ReadState == NullabilityState.Nullable
                && operation.Parameters?.OfType<OpenApiParameter>().FirstOrDefault(p => p.In == ParameterLocation.Query && p.Name == description.Name) is { } parameter)
            {
                parameter.Required = false;
            }
        }
    }

    // HEAD answers as the whole GET would, without a body (RFC 9110, section 9.3.2): Range and If-Range are ignored,
    // so there is no 206 or 416, and no response has content; the headers stay.
    private static void DescribeHeadWithoutBody(OpenApiDocument document)
    {
        foreach (var path in document.Paths.Values)
        {
            if (path.Operations?.TryGetValue(HttpMethod.Head, out var head) is not true)
            {
                continue;
            }

            if (head.Parameters is { } parameters)
            {
                foreach (var parameter in parameters.Where(static p => p.In == ParameterLocation.Header && p.Name is "Range" or "If-Range").ToList())
                {
                    parameters.Remove(parameter);
                }
            }

            head.Responses?.Remove("206");
            head.Responses?.Remove("416");
            foreach (var response in head.Responses?.Values.OfType<OpenApiResponse>() ?? [])
            {
                response.Content = null;
            }
        }
    }
}
