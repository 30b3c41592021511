namespace LayerExportApi.Hosting;

/// <summary>Failures before the body: an RFC 7807 problem for every exception and every empty error status.</summary>
internal static class ProblemResponseExtensions
{
    /// <summary>Registers the problem details writer the exception handler and the status code pages use.</summary>
    public static WebApplicationBuilder AddProblemResponses(this WebApplicationBuilder builder)
    {
        builder.Services.AddProblemDetails();

        // After the framework's writer, which is used whenever Accept allows JSON.
        builder.Services.AddSingleton<IProblemDetailsWriter, ProblemJsonFallbackWriter>();
        return builder;
    }

    /// <summary>Adds the exception handler and the status code pages, both answering problem+json.</summary>
    /// <remarks>
    /// The status code pages write the problem whatever <c>Accept</c> says, as the endpoints' own problems do: a
    /// client of layer tars often accepts only the OCI media types, and would otherwise get a text/plain 404 or 405.
    /// </remarks>
    public static WebApplication UseProblemResponses(this WebApplication app)
    {
        app.UseExceptionHandler();
        app.UseStatusCodePages(static context => TypedResults.Problem(statusCode: context.HttpContext.Response.StatusCode).ExecuteAsync(context.HttpContext));
        return app;
    }
}
