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

/// <summary>One headless chromium for <see cref="SwaggerUiBrowserTests"/>, and a server over a base layer and its child.</summary>
public sealed class SwaggerUiBrowser : IAsyncLifetime
{
    public const string BaseLayer = "base";
    public const string ChildLayer = "child";

    private const int TimeoutMilliseconds = 60_000;

    private IBrowser? _browser;
    private ApiServer? _server;

    internal TempLayerStore Store { get; } = TempLayerStore.Create()
        .AddLayer(BaseLayer)
        .AddFile(BaseLayer, "etc/hostname", "base\n"u8.ToArray())
        .AddLayer(ChildLayer, parent: BaseLayer)
        .AddFile(ChildLayer, "etc/motd", "child\n"u8.ToArray());

    internal ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public async Task InitializeAsync()
    {
        var chromium = (Environment.GetEnvironmentVariable("PATH") ?? string.Empty).Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(directory => Path.Combine(directory, "chromium"))
            .FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException("chromium is not on PATH: run ./test.sh, which installs the Debian package chromium");
        _browser = await Puppeteer.LaunchAsync(new LaunchOptions
        {
            ExecutablePath = chromium,
            Headless = true,
            // Chromium's sandbox refuses to start as root.
            Args = Environment.IsPrivilegedProcess ? ["--no-sandbox"] : [],
            Timeout = TimeoutMilliseconds,
        });
        _server = ApiServer.Start(Store.Root);
    }

    public async Task DisposeAsync()
    {
        if (_browser is not null)
        {
            await _browser.CloseAsync();
            await _browser.DisposeAsync();
        }

        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        Store.Dispose();
    }

    /// <summary>A new tab showing <paramref name="server"/>'s Swagger UI with its operations rendered.</summary>
    internal async Task<IPage> OpenSwaggerUiAsync(ApiServer server)
    {
        var page = await (_browser ?? throw new InvalidOperationException("not started")).NewPageAsync();
        page.DefaultTimeout = TimeoutMilliseconds;
        await page.GoToAsync(server.Url("/swagger/index.html"));
        await page.WaitForSelectorAsync(".opblock");
        return page;
    }

    /// <summary>Opens the operation and presses "Try it out"; returns a selector of its block.</summary>
    internal static async Task<string> TryItOutAsync(IPage page, string method, string path)
    {
        var operation = $".opblock.opblock-{method}:has(.opblock-summary-path[data-path='{path}'])";
        await page.ClickAsync($"{operation} .opblock-summary-control");
        await (await page.WaitForSelectorAsync($"{operation} .try-out__btn")).ClickAsync();
        await page.WaitForSelectorAsync($"{operation} .execute");
        return operation;
    }

    /// <summary>Types <paramref name="text"/> over what the input holds, as a user selecting its text would (a new array item starts as "string").</summary>
    internal static async Task ReplaceTextAsync(IPage page, string selector, string text)
    {
        await page.FocusAsync(selector);
        await page.EvaluateFunctionAsync("selector => document.querySelector(selector).select()", selector);
        await page.Keyboard.TypeAsync(text);
    }

    /// <summary>Clears any earlier response, presses "Execute" and waits for the response the UI shows, or its refusal to send.</summary>
    internal static async Task<ShownResponse> ExecuteAsync(IPage page, string operation)
    {
        if (await page.QuerySelectorAsync($"{operation} .btn-clear") is { } clear)
        {
            await clear.ClickAsync();
            await page.WaitForSelectorAsync($"{operation} .live-responses-table", new WaitForSelectorOptions { Hidden = true });
        }

        await page.ClickAsync($"{operation} .execute");
        await page.WaitForFunctionAsync(
            "operation => document.querySelector(operation + ' .live-responses-table tr.response .response-col_status') || document.querySelector(operation + ' .validation-errors')",
            operation);
        return await page.EvaluateFunctionAsync<ShownResponse>(
            """
            operation => {
                const block = document.querySelector(operation);
                const text = selector => block.querySelector(selector)?.textContent ?? '';
                const refusal = text('.validation-errors');
                if (refusal) {
                    return { status: 'not sent: ' + refusal, requestUrl: '', headers: '', body: '', download: '' };
                }
                const headings = [...block.querySelectorAll('.live-responses-table tr.response .response-col_description h5')];
                const after = title => headings.find(h => h.textContent.trim() === title)?.nextElementSibling?.textContent ?? '';
                return {
                    status: text('.live-responses-table tr.response .response-col_status').trim(),
                    requestUrl: text('.request-url'),
                    headers: [...block.querySelectorAll('.live-responses-table tr.response .headerline')].map(h => h.textContent.trim()).join('\n'),
                    body: after('Response body'),
                    download: block.querySelector('.live-responses-table a[download]')?.getAttribute('download') ?? '',
                };
            }
            """,
            operation);
    }

    /// <summary>What the UI shows of a response it received, or <c>Status</c> "not sent: …" with its validation errors.</summary>
    internal sealed record ShownResponse(string Status, string RequestUrl, string Headers, string Body, string Download);
}
