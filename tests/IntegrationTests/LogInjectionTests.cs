using System.Net;
using System.Text.Json.Nodes;
using IntegrationTests.Support;
using Serilog.Events;
using Serilog.Formatting.Display;

namespace IntegrationTests;

/// <summary>Nothing a request carries can start a line of its own in the log: control characters are logged escaped.</summary>
public sealed class LogInjectionTests : IDisposable
{
    // A line break, then what the server's own export line looks like, then a carriage return.
    private const string Forged = "[21:56:20 INF] Export of layer app (None) completed: 8192 bytes";
    private const string Target = "/layers/x%0A%5B21:56:20%20INF%5D%20Export%20of%20layer%20app%20(None)%20completed:%208192%20bytes%0Dy";

    private readonly TempLayerStore _store = TempLayerStore.Create().AddLayer("app");

    public void Dispose() => _store.Dispose();

    [Theory]
    [InlineData("", true, 401)]
    [InlineData("/tar", true, 401)]
    [InlineData("", false, 400)]
    [InlineData("/tar", false, 400)]
    public async Task ALineBreakInThePathIsLoggedEscapedOnTheRequestsOneLine(string endpoint, bool tokens, int status)
    {
        await using var server = ApiServer.Start(_store.Root, settings: tokens ? BearerTokens.Settings(BearerTokens.NewToken()) : null);

        var response = await RawHttp.SendAsync(server.BaseAddress, "GET", Target + endpoint);
        var logged = await server.Logs.WaitForAsync(IsRequestLine, "the request logged");

        Assert.Equal(status, response.Status);
        Assert.Single(server.Logs.Events, IsRequestLine);
        var line = Render(logged);
        Assert.Single(line.Split(Environment.NewLine), static l => l.Length > 0);
        Assert.DoesNotContain('\n', line.TrimEnd());
        Assert.DoesNotContain('\r', line);
        Assert.Contains($"GET {Target}{endpoint} responded {status}", line, StringComparison.Ordinal);
        Assert.Equal($"x\\n{Forged}\\ry", CapturedLogs.Property(logged, "LayerId"));
        Assert.All(server.Logs.Events, e => Assert.DoesNotContain('\n', Render(e).TrimEnd()));
    }

    [Fact]
    public async Task ALineBreakInAFileNameIsLoggedEscapedWhenItsExportFails()
    {
        // File names come with pulled images: the failure's message quotes one, and the log prints that message.
        var entry = "c/x\n" + Forged;
        using var store = TempLayerStore.Create().AddLayer("named").AddPatternFile("named", entry, 8192);
        await using var server = ApiServer.Start(store.Root, services => services.DecorateLayerStore(inner => new FailingLayerStore(inner, entry)));
        using var client = server.CreateClient();

        using (var response = await client.GetAsync(new Uri("/layers/named/tar", UriKind.Relative)))
        {
            await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        }

        var failed = await server.Logs.WaitForExportOutcomeAsync("named", "failed");
        var lines = Render(failed).Split('\n');
        Assert.DoesNotContain(lines, line => line.StartsWith(Forged, StringComparison.Ordinal));
        Assert.Contains(lines, line => line.Contains("c/x\\n" + Forged, StringComparison.Ordinal));
    }

    private static bool IsRequestLine(LogEvent logEvent) =>
        logEvent.Properties.ContainsKey("StatusCode") && CapturedLogs.Property(logEvent, "RequestPath")?.StartsWith("/layers/x", StringComparison.Ordinal) == true;

    // Through the console sink's template as shipped in appsettings.json (inside the asynchronous wrapper), as an operator reads the log.
    private static string Render(LogEvent logEvent)
    {
        var settings = JsonNode.Parse(File.ReadAllText(Path.Combine(AppContext.BaseDirectory, "appsettings.json")))!;
        var template = settings["Serilog"]!["WriteTo"]![0]!["Args"]!["configure"]![0]!["Args"]!["outputTemplate"]!.GetValue<string>();
        using var text = new StringWriter();
        new MessageTemplateTextFormatter(template).Format(logEvent, text);
        return text.ToString();
    }
}
