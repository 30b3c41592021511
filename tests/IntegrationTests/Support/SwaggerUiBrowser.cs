using PuppeteerSharp;

namespace IntegrationTests.Support;

/// <summary>One headless chromium for <see cref="IntegrationTests.SwaggerUiBrowserTests"/>, and a server over a base layer and its child.</summary>
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
