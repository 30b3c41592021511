using System.Text.Json;
using IntegrationTests.Support;
using PuppeteerSharp;

namespace IntegrationTests;

/// <summary>Swagger UI at <c>/swagger</c> in a real browser (headless chromium), used as a person exploring the API uses it.</summary>
public sealed class SwaggerUiBrowserTests(SwaggerUiBrowser browser) : IClassFixture<SwaggerUiBrowser>, IAsyncLifetime
{
    private IPage? _page;

    private IPage Page => _page ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync() => _page = await browser.OpenSwaggerUiAsync(browser.Server);

    public async Task DisposeAsync()
    {
        if (_page is not null)
        {
            await _page.CloseAsync();
        }
    }

    [Fact]
    public async Task ThePageListsEveryOperationOfTheDocumentAndOpensEachWithItsResponsesWithoutErrors()
    {
        using var client = browser.Server.CreateClient();
        using var document = JsonDocument.Parse(await client.GetStringAsync(new Uri("/openapi/v1.json", UriKind.Relative)));
        var documented = document.RootElement.GetProperty("paths").EnumerateObject()
            .SelectMany(path => path.Value.EnumerateObject().Where(o => o.Name is not "parameters").Select(o =>
                $"{o.Name} {path.Name}: {string.Join(' ', o.Value.GetProperty("responses").EnumerateObject().Select(r => r.Name).Order(StringComparer.Ordinal))}"))
            .Order(StringComparer.Ordinal)
            .ToList();

        await Page.EvaluateExpressionAsync("document.querySelectorAll('.opblock-summary-control').forEach(summary => summary.click())");
        // The UI resolves an operation's references once it is opened, and reports what it cannot resolve above the operations.
        await Page.WaitForFunctionAsync(
            """
            () => [...document.querySelectorAll('.opblock')].every(block =>
                block.querySelector('.responses-table tr.response')
                && window.ui.specSelectors.specResolvedSubtree(['paths',
                    block.querySelector('.opblock-summary-path').getAttribute('data-path'),
                    block.querySelector('.opblock-summary-method').textContent.trim().toLowerCase()]) !== undefined)
            """);
        var shown = await Page.EvaluateFunctionAsync<string[]>(
            """
            () => [...document.querySelectorAll('.opblock')].map(block =>
                block.querySelector('.opblock-summary-method').textContent.trim().toLowerCase() + ' '
                + block.querySelector('.opblock-summary-path').getAttribute('data-path') + ': '
                + [...block.querySelectorAll('.responses-table:not(.live-responses-table) tr.response')].map(r => r.getAttribute('data-code')).sort().join(' '))
            """);

        Assert.NotEmpty(documented);
        Assert.Equal(documented, shown.Order(StringComparer.Ordinal));
        Assert.Equal(string.Empty, await Page.EvaluateExpressionAsync<string>("[...document.querySelectorAll('.errors-wrapper')].map(e => e.textContent).join('\\n')"));
    }

    [Fact]
    public async Task TryingOutTheLayerListShowsEveryLayer()
    {
        var operation = await SwaggerUiBrowser.TryItOutAsync(Page, "get", "/layers");

        var response = await SwaggerUiBrowser.ExecuteAsync(Page, operation);

        Assert.Equal("200", response.Status);
        Assert.Contains($"\"{SwaggerUiBrowser.BaseLayer}\"", response.Body, StringComparison.Ordinal);
        Assert.Contains($"\"{SwaggerUiBrowser.ChildLayer}\"", response.Body, StringComparison.Ordinal);
    }

    // The parent chain is optional: a document that calls it required makes the UI refuse the request unsent.
    [Fact]
    public async Task TryingOutATarDownloadWorksWithoutAParentAndChecksOneWhenGiven()
    {
        var operation = await SwaggerUiBrowser.TryItOutAsync(Page, "get", "/layers/{id}/tar");
        await Page.TypeAsync($"{operation} tr[data-param-name='id'] input", SwaggerUiBrowser.ChildLayer);

        var withoutParent = await SwaggerUiBrowser.ExecuteAsync(Page, operation);

        Assert.Equal("200", withoutParent.Status);
        Assert.DoesNotContain("parent=", withoutParent.RequestUrl, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^content-type: application/vnd\.oci\.image\.layer\.v1\.tar$", withoutParent.Headers);
        Assert.Equal($"{SwaggerUiBrowser.ChildLayer}.tar", withoutParent.Download);

        await Page.ClickAsync($"{operation} tr[data-param-name='parent'] .json-schema-form-item-add");
        var parentInput = $"{operation} tr[data-param-name='parent'] .json-schema-form-item input";
        await SwaggerUiBrowser.ReplaceTextAsync(Page, parentInput, SwaggerUiBrowser.BaseLayer);
        var withParent = await SwaggerUiBrowser.ExecuteAsync(Page, operation);

        Assert.Equal("200", withParent.Status);
        Assert.Contains($"parent={SwaggerUiBrowser.BaseLayer}", withParent.RequestUrl, StringComparison.Ordinal);
        Assert.Equal($"{SwaggerUiBrowser.ChildLayer}.tar", withParent.Download);

        await SwaggerUiBrowser.ReplaceTextAsync(Page, parentInput, SwaggerUiBrowser.ChildLayer);
        var wrongParent = await SwaggerUiBrowser.ExecuteAsync(Page, operation);

        Assert.Equal("409", wrongParent.Status);
        Assert.Contains($"parent={SwaggerUiBrowser.ChildLayer}", wrongParent.RequestUrl, StringComparison.Ordinal);
        Assert.Matches(@"(?m)^content-type: application/problem\+json", wrongParent.Headers);
        Assert.Contains("\"urn:layer-export:problem:parent-chain-mismatch\"", wrongParent.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABadLayerIdShowsTheProblemBody()
    {
        var operation = await SwaggerUiBrowser.TryItOutAsync(Page, "get", "/layers/{id}");
        await Page.TypeAsync($"{operation} tr[data-param-name='id'] input", "-bad");

        var response = await SwaggerUiBrowser.ExecuteAsync(Page, operation);

        Assert.Equal("400", response.Status);
        Assert.Matches(@"(?m)^content-type: application/problem\+json", response.Headers);
        Assert.Contains("\"urn:layer-export:problem:invalid-layer-id\"", response.Body, StringComparison.Ordinal);
        Assert.Contains("\"status\": 400", response.Body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithTokensTheAuthorizeDialogTakesTheBearerTokenTryItOutThenSends()
    {
        var token = BearerTokens.NewToken();
        await using var server = ApiServer.Start(browser.Store.Root, settings: BearerTokens.Settings(token));
        var page = await browser.OpenSwaggerUiAsync(server);
        try
        {
            var operation = await SwaggerUiBrowser.TryItOutAsync(page, "get", "/layers");
            var withoutToken = await SwaggerUiBrowser.ExecuteAsync(page, operation);
            Assert.Equal("401", withoutToken.Status);

            await page.ClickAsync(".scheme-container .btn.authorize");
            await page.WaitForSelectorAsync(".modal-ux .auth-container input");
            await page.TypeAsync(".modal-ux .auth-container input", token);
            await page.ClickAsync(".modal-ux .auth-btn-wrapper .btn.authorize");
            await page.WaitForFunctionAsync("() => [...document.querySelectorAll('.modal-ux .auth-btn-wrapper button')].some(b => b.textContent.trim() === 'Logout')");
            await page.ClickAsync(".modal-ux .btn-done");
            await page.WaitForSelectorAsync(".modal-ux", new WaitForSelectorOptions { Hidden = true });
            var withToken = await SwaggerUiBrowser.ExecuteAsync(page, operation);

            Assert.Equal("200", withToken.Status);
            Assert.Contains($"\"{SwaggerUiBrowser.ChildLayer}\"", withToken.Body, StringComparison.Ordinal);
        }
        finally
        {
            await page.CloseAsync();
        }
    }
}
