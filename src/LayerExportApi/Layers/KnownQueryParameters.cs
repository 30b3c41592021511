using System.Reflection;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace LayerExportApi.Layers;

/// <summary>Refuses a request whose query names a parameter its endpoint does not take.</summary>
/// <remarks>
/// A misspelt <c>parents=</c> would otherwise skip the parent-chain check its sender asked for, and a misspelt
/// <c>compresion=</c> would answer a plain tar to a client that wanted gzip. The parameters an endpoint takes are
/// read from its handler's <c>[FromQuery]</c> arguments, so the check, the binding and the OpenAPI document agree.
/// Names compare case-insensitively, as the binding does.
/// </remarks>
internal static class KnownQueryParameters
{
    /// <summary>An endpoint filter factory for a route group: each endpoint gets the check for its own parameters.</summary>
    public static EndpointFilterDelegate Refuse(EndpointFilterFactoryContext context, EndpointFilterDelegate next)
    {
        var known = context.MethodInfo.GetParameters()
            .Select(static p => p.GetCustomAttribute<FromQueryAttribute>() is { } query ? query.Name ?? p.Name : null)
            .OfType<string>()
            .ToArray();
        return invocation =>
        {
            foreach (var name in invocation.HttpContext.Request.Query.Keys)
            {
                if (!known.Contains(name, StringComparer.OrdinalIgnoreCase))
                {
                    return ValueTask.FromResult<object?>(Unknown(name, known));
                }
            }

            return next(invocation);
        };
    }

    private static ProblemHttpResult Unknown(string name, string[] known) =>
        TypedResults.Problem(
            detail: known.Length == 0
                ? $"The query parameter '{name}' is not known: this endpoint takes no query parameters."
                : $"The query parameter '{name}' is not known: this endpoint takes {string.Join(", ", known)}.",
            statusCode: StatusCodes.Status400BadRequest,
            title: "Unknown query parameter",
            type: "urn:layer-export:problem:unknown-query-parameter");
}
