using System.Globalization;

namespace LayerExport.TestSupport;

/// <summary>One scrape of <c>/metrics</c>: each sample line's series (name and labels, as written) and value.</summary>
public sealed class PrometheusScrape(IReadOnlyDictionary<string, double> samples, string text)
{
    /// <summary>The scrape as the server wrote it.</summary>
    public string Text => text;

    /// <summary>Scrapes <c>/metrics</c> through <paramref name="client"/>; fails the test unless it answers with success.</summary>
    public static async Task<PrometheusScrape> TakeAsync(HttpClient client)
    {
        using var response = await client.GetAsync(new Uri("/metrics", UriKind.Relative));
        var text = await response.Content.ReadAsStringAsync();
        Xunit.Assert.True(response.IsSuccessStatusCode, $"/metrics answered {(int)response.StatusCode}: {text}");
        var samples = new Dictionary<string, double>(StringComparer.Ordinal);
        foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (line.StartsWith('#'))
            {
                continue;
            }

            // name{labels} value [timestamp]; label values here never hold a space.
            var parts = line.Split(' ');
            samples[parts[0]] = double.Parse(parts[1], CultureInfo.InvariantCulture);
        }

        return new PrometheusScrape(samples, text);
    }

    /// <summary>The value of the series <paramref name="name"/> whose labels include all of <paramref name="labels"/> (0 when absent).</summary>
    public double Value(string name, params (string Name, string Value)[] labels)
    {
        var matching = samples.Where(s =>
            (s.Key == name || s.Key.StartsWith(name + "{", StringComparison.Ordinal))
            && labels.All(l => s.Key.Contains($"{l.Name}=\"{l.Value}\"", StringComparison.Ordinal))).ToList();
        Xunit.Assert.True(matching.Count <= 1, $"{matching.Count} series of {name} match: {string.Join(", ", matching.Select(m => m.Key))}");
        return matching.Count == 0 ? 0 : matching[0].Value;
    }
}
