using Microsoft.Extensions.Diagnostics.HealthChecks;

namespace LayerExportApi.Health;

/// <summary>Health answers: <c>Healthy</c> as plain text, anything else as an RFC 7807 problem (503).</summary>
internal static class HealthResponses
{
    /// <summary>Writes <paramref name="report"/>; the status code is already set by the health check middleware.</summary>
    public static Task WriteAsync(HttpContext context, HealthReport report)
    {
        if (report.Status == HealthStatus.Healthy)
        {
            context.Response.ContentType = "text/plain";
            return context.Response.WriteAsync("Healthy");
        }

        var reasons = report.Entries.Values.Where(static e => e.Status != HealthStatus.Healthy).Select(static e => e.Description);
        return TypedResults.Problem(
            detail: string.Join(" ", reasons),
            statusCode: StatusCodes.Status503ServiceUnavailable,
            title: "Not ready",
            type: "urn:layer-export:problem:not-ready").ExecuteAsync(context);
    }
}
