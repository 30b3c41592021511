using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using IntegrationTests.Support;
using LayerExportApi.Listening;

namespace IntegrationTests;

/// <summary>Every request of <c>http-samples/layers.http</c>, sent in file order to a server over the sample store, answers as its title says.</summary>
public sealed partial class HttpSamplesTests
{
    private const string ProblemTypePrefix = "urn:layer-export:problem:";

    [Fact]
    public async Task EveryRequestAnswersWithTheStatusAndProblemTypeItsTitleNames()
    {
        var samples = SampleFile.Read();
        await using var server = ApiServer.Start(RepositoryFiles.SampleStore);
        using var client = server.CreateClient();

        foreach (var sample in samples.Requests)
        {
            // Sent as written, a pasted-ETag placeholder matches no representation: the title's "otherwise" status.
            await SendAndCheckAsync(client, samples.Resolve(sample.Url, server.BaseAddress), sample, sample.Headers, sample.StatusWithoutMatch);
        }
    }

    [Fact]
    public async Task APastedETagGivesTheStatusTheTitleNamesForAMatch()
    {
        var samples = SampleFile.Read();
        await using var server = ApiServer.Start(RepositoryFiles.SampleStore);
        using var client = server.CreateClient();
        var pasting = samples.Requests.Where(r => r.Headers.Any(h => EtagPlaceholder().IsMatch(h.Value))).ToList();
        Assert.NotEmpty(pasting);
        Assert.Equal(samples.Requests.Where(r => r.Title.Contains("paste the ETag", StringComparison.Ordinal)), pasting);

        foreach (var sample in pasting)
        {
            var url = samples.Resolve(sample.Url, server.BaseAddress);

            // The ETag is known once this layer state has been exported whole, as "a previous response" was.
            using (var export = await client.GetAsync(url))
            {
                Assert.Equal(HttpStatusCode.OK, export.StatusCode);
            }

            using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, url));
            var etag = head.Headers.ETag?.ToString();
            Assert.True(etag is not null, $"{sample.Title}: HEAD {url} gave no ETag to paste");
            var pasted = sample.Headers.Select(h => (h.Name, EtagPlaceholder().Replace(h.Value, etag))).ToList();
            await SendAndCheckAsync(client, url, sample, pasted, sample.Status);
        }
    }

    [Fact]
    public void TheFilesHostIsTheServersDefaultAddress() =>
        Assert.Equal(ListeningOptions.DefaultUrl, SampleFile.Read().Variables["host"]);

    private static async Task SendAndCheckAsync(HttpClient client, Uri url, SampleRequest sample, IReadOnlyList<(string Name, string Value)> headers, HttpStatusCode expected)
    {
        using var request = new HttpRequestMessage(new HttpMethod(sample.Method), url);
        foreach (var (name, value) in headers)
        {
            Assert.True(request.Headers.TryAddWithoutValidation(name, value), $"{sample.Title}: {name} is not a request header");
        }

        using var response = await client.SendAsync(request);
        var body = await response.Content.ReadAsStringAsync();
        var shown = response.Content.Headers.ContentType?.MediaType?.EndsWith("json", StringComparison.Ordinal) == true ? body : $"{response.Content.Headers.ContentType} body";
        Assert.True(expected == response.StatusCode, $"{sample.Title}: {sample.Method} {url} answered {(int)response.StatusCode}, not {(int)expected}: {shown}");
        if ((int)expected < 400)
        {
            return;
        }

        Assert.True(response.Content.Headers.ContentType?.MediaType == ProblemAssert.MediaType, $"{sample.Title}: {response.Content.Headers.ContentType} is no problem: {shown}");
        ProblemAssert.HasNoInternals(body);
        if (sample.ProblemType is { } type)
        {
            var actual = JsonDocument.Parse(body).RootElement.GetProperty("type").GetString();
            Assert.True(actual == ProblemTypePrefix + type, $"{sample.Title}: {sample.Method} {url} answered the problem type {actual}: {body}");
        }
    }

    // What an editor's client shows until the user pastes the ETag of an earlier response.
    [GeneratedRegex("\"sha256:<[^>\"]*>\"")]
    private static partial Regex EtagPlaceholder();

    // "206 when the ETag matches, otherwise 200 ...", "404 layer-not-found", "200: ...".
    [GeneratedRegex(@"^(?<status>[1-5][0-9]{2})(?: (?<type>[a-z]+(?:-[a-z]+)+)(?=:|$))?(?:.*\botherwise (?<otherwise>[1-5][0-9]{2})\b)?")]
    private static partial Regex TitleStatus();

    [GeneratedRegex(@"^@(?<name>\w+)\s*=\s*(?<value>.*?)\s*$")]
    private static partial Regex Variable();

    [GeneratedRegex(@"^(?<method>GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) (?<url>\S+)(?: HTTP/[0-9.]+)?$")]
    private static partial Regex RequestLine();

    [GeneratedRegex(@"^(?<name>[!#$%&'*+.^_`|~0-9A-Za-z-]+):\s*(?<value>.*?)\s*$")]
    private static partial Regex HeaderLine();

    [GeneratedRegex(@"\{\{(?<name>\w+)\}\}")]
    private static partial Regex Use();

    private static bool IsComment(string line) => line.StartsWith('#') || line.StartsWith("//", StringComparison.Ordinal);

    /// <summary>One request of the file, and what its title says it answers.</summary>
    private sealed record SampleRequest(string Title, string Method, string Url, IReadOnlyList<(string Name, string Value)> Headers)
    {
        private Match TitleMatch => TitleStatus().Match(Title) is { Success: true } match
            ? match
            : throw new InvalidOperationException($"The title '{Title}' does not start with the status the request answers.");

        public HttpStatusCode Status => (HttpStatusCode)int.Parse(TitleMatch.Groups["status"].Value, System.Globalization.CultureInfo.InvariantCulture);

        public HttpStatusCode StatusWithoutMatch => TitleMatch.Groups["otherwise"] is { Success: true } otherwise
            ? (HttpStatusCode)int.Parse(otherwise.Value, System.Globalization.CultureInfo.InvariantCulture)
            : Status;

        public string? ProblemType => TitleMatch.Groups["type"] is { Success: true } type ? type.Value : null;
    }

    /// <summary>The file in the format of VS Code's REST Client and the JetBrains HTTP client: <c>###</c> before each request, <c>@name = value</c> variables, <c>{{name}}</c> uses.</summary>
    private sealed record SampleFile(IReadOnlyDictionary<string, string> Variables, IReadOnlyList<SampleRequest> Requests)
    {
        public static SampleFile Read()
        {
            var blocks = Regex.Split(File.ReadAllText(RepositoryFiles.HttpSamples), "^###", RegexOptions.Multiline);
            var variables = new Dictionary<string, string>();
            var requests = new List<SampleRequest>();
            for (var i = 0; i < blocks.Length; i++)
            {
                var lines = blocks[i].Split('\n').Select(l => l.TrimEnd('\r')).ToList();
                var title = i == 0 ? null : lines[0].Trim();
                string? method = null, url = null;
                var headers = new List<(string, string)>();
                var inHeaders = false;
                foreach (var line in lines.Skip(i == 0 ? 0 : 1))
                {
                    if (Variable().Match(line) is { Success: true } variable)
                    {
                        variables[variable.Groups["name"].Value] = variable.Groups["value"].Value;
                    }
                    else if (line.Length == 0 || IsComment(line))
                    {
                        // A blank line ends the headers; what follows it would be a body, which none of these requests has.
                        inHeaders = inHeaders && line.Length != 0;
                    }
                    else if (title is not null && method is null && RequestLine().Match(line) is { Success: true } requestLine)
                    {
                        (method, url, inHeaders) = (requestLine.Groups["method"].Value, requestLine.Groups["url"].Value, true);
                    }
                    else if (inHeaders && HeaderLine().Match(line) is { Success: true } header)
                    {
                        headers.Add((header.Groups["name"].Value, header.Groups["value"].Value));
                    }
                    else
                    {
                        throw new InvalidOperationException($"{(title ?? "before the first ###")}: line '{line}' is no variable, request line, header or comment.");
                    }
                }

                if (title is not null)
                {
                    requests.Add(new SampleRequest(title, method ?? throw new InvalidOperationException($"{title}: no request line."), url!, headers));
                }
            }

            Assert.NotEmpty(requests);
            return new SampleFile(variables, requests);
        }

        /// <summary>The request's URL with every variable replaced, the host being <paramref name="server"/>.</summary>
        public Uri Resolve(string url, Uri server) => new(Use().Replace(url, use => use.Groups["name"].Value switch
        {
            "host" => server.GetLeftPart(UriPartial.Authority),
            var name => Variables.TryGetValue(name, out var value) ? value : throw new InvalidOperationException($"{{{{{name}}}}} is no variable of the file."),
        }));
    }
}
