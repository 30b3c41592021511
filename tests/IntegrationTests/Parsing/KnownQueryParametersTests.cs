using System.Reflection;
using LayerExportApi.Layers;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace IntegrationTests.Parsing;

/// <summary>A query parameter its endpoint's handler does not take by [FromQuery] is a 400, whatever its letter case.</summary>
public sealed class KnownQueryParametersTests
{
    private const string Passed = "handler ran";

    [Theory]
    [InlineData("")]
    [InlineData("?parent=base")]
    [InlineData("?compression=gzip&parent=a&parent=b")]
    [InlineData("?Parent=base&COMPRESSION=zstd")]
    public async Task TheParametersTheHandlerTakesReachIt(string query) =>
        Assert.Equal(Passed, await InvokeAsync(nameof(LayerEndpoints.ExportLayerTar), query));

    [Theory]
    [InlineData("?parents=base", "parents")]
    [InlineData("?compression=gzip&compresion=zstd", "compresion")]
    [InlineData("?id=app", "id")]
    [InlineData("?request=x", "request")]
    public async Task AParameterTheHandlerDoesNotTakeIsABadRequestNamingTheOnesItTakes(string query, string unknown) =>
        AssertUnknown($"The query parameter '{unknown}' is not known: this endpoint takes parent, compression.", await InvokeAsync(nameof(LayerEndpoints.ExportLayerTar), query));

    [Fact]
    public async Task AnEndpointWithoutQueryParametersRefusesAnyAndSaysItTakesNone() =>
        AssertUnknown("The query parameter 'parent' is not known: this endpoint takes no query parameters.", await InvokeAsync(nameof(LayerEndpoints.DescribeLayer), "?parent=base"));

    [Fact]
    public async Task AnEndpointWithoutQueryParametersPassesARequestWithoutAQuery() =>
        Assert.Equal(Passed, await InvokeAsync(nameof(LayerEndpoints.DescribeLayer), ""));

    [Fact]
    public async Task AFromQueryWithoutANameTakesTheParameterName()
    {
        var handler = ([FromQuery] string? limit) => limit;

        Assert.Equal(Passed, await InvokeAsync(handler.Method, "?limit=1"));
        AssertUnknown("The query parameter 'page' is not known: this endpoint takes limit.", await InvokeAsync(handler.Method, "?page=1"));
    }

    [Fact]
    public async Task AFromQueryNameIsTheParameterTheClientSendsNotTheArgumentName()
    {
        // The binding reads ?page-size=; a check by the argument's name would refuse what binds and pass what does not.
        var handler = ([FromQuery(Name = "page-size")] int? pageSize) => pageSize;

        Assert.Equal(Passed, await InvokeAsync(handler.Method, "?page-size=1"));
        AssertUnknown("The query parameter 'pageSize' is not known: this endpoint takes page-size.", await InvokeAsync(handler.Method, "?pageSize=1"));
    }

    private static ValueTask<object?> InvokeAsync(string endpoint, string query) =>
        InvokeAsync(typeof(LayerEndpoints).GetMethod(endpoint) ?? throw new ArgumentException(endpoint, nameof(endpoint)), query);

    private static ValueTask<object?> InvokeAsync(MethodInfo handler, string query)
    {
        var filter = KnownQueryParameters.Refuse(
            new EndpointFilterFactoryContext { MethodInfo = handler, ApplicationServices = EmptyServices.Instance },
            static _ => ValueTask.FromResult<object?>(Passed));
        var context = new DefaultHttpContext();
        context.Request.QueryString = new QueryString(query.Length == 0 ? null : query);

        return filter(new DefaultEndpointFilterInvocationContext(context));
    }

    private static void AssertUnknown(string detail, object? result)
    {
        var problem = Assert.IsType<ProblemHttpResult>(result);
        Assert.Equal(StatusCodes.Status400BadRequest, problem.StatusCode);
        Assert.Equal("urn:layer-export:problem:unknown-query-parameter", problem.ProblemDetails.Type);
        Assert.Equal("Unknown query parameter", problem.ProblemDetails.Title);
        Assert.Equal(detail, problem.ProblemDetails.Detail);
    }

    private sealed class EmptyServices : IServiceProvider
    {
        public static readonly EmptyServices Instance = new();

        public object? GetService(Type serviceType) => null;
    }
}
