using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace IntegrationTests.Support;

/// <summary>Checks that a response is an RFC 7807 problem and leaks nothing of the server's internals.</summary>
internal static partial class ProblemAssert
{
    public const string MediaType = "application/problem+json";

    /// <summary>Asserts status, media type, a title and a detail; returns the parsed problem.</summary>
    public static async Task<JsonElement> IsProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var problem = await IsProblemWithoutDetailAsync(response, status);
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("detail").GetString()), "the problem has no detail");
        return problem;
    }

    /// <summary>Asserts status, media type and a title (framework problems such as an unknown route carry no detail).</summary>
    public static async Task<JsonElement> IsProblemWithoutDetailAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(status == response.StatusCode, $"expected {(int)status}, got {(int)response.StatusCode}: {body}");
        Assert.Equal(MediaType, response.Content.Headers.ContentType?.MediaType);
        HasNoInternals(body);

        var problem = JsonDocument.Parse(body).RootElement.Clone();
        Assert.Equal((int)status, problem.GetProperty("status").GetInt32());
        Assert.False(string.IsNullOrWhiteSpace(problem.GetProperty("title").GetString()), "the problem has no title");
        return problem;
    }

    /// <summary>Asserts <paramref name="body"/> holds no stack frame and no exception type name.</summary>
    public static void HasNoInternals(string body)
    {
        Assert.DoesNotContain("   at ", body, StringComparison.Ordinal);
        Assert.False(StackFrame().IsMatch(body), $"stack frame in response: {body}");
        Assert.DoesNotContain("Exception", body, StringComparison.Ordinal);
        Assert.DoesNotContain("LayerExport.Core", body, StringComparison.Ordinal);
    }

    [GeneratedRegex(@"\bat [A-Za-z_][\w.`<>]*\(", RegexOptions.CultureInvariant)]
    private static partial Regex StackFrame();
}
