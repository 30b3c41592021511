using System.Buffers;
using System.Globalization;
using System.Text;

namespace LayerExport.Core;

/// <summary>Text from a layer, a store or a request as a message or a log line quotes it: no value can start a line of its own.</summary>
/// <remarks>
/// File names in a pulled image, metadata values and request paths are anyone's text; a line break in one would
/// let it forge a log line of the server's. C0 and C1 controls, DEL and the Unicode line and paragraph separators
/// (which some viewers break lines at) are written as escapes.
/// </remarks>
public static class MessageText
{
    private static readonly SearchValues<char> Escaped = SearchValues.Create(
        [.. Enumerable.Range(0, 0x20).Concat(Enumerable.Range(0x7f, 0x21)).Append(0x2028).Append(0x2029).Select(static c => (char)c)]);

    /// <summary><paramref name="text"/> with every control character escaped (<c>\n</c>, <c>\r</c>, <c>\t</c>, else <c>\u00XX</c>).</summary>
    public static string Escape(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        if (!text.AsSpan().ContainsAny(Escaped))
        {
            return text;
        }

        var escaped = new StringBuilder(text.Length + 16);
        foreach (var c in text)
        {
            _ = c switch
            {
                '\n' => escaped.Append("\\n"),
                '\r' => escaped.Append("\\r"),
                '\t' => escaped.Append("\\t"),
                _ when Escaped.Contains(c) => escaped.Append(CultureInfo.InvariantCulture, $"\\u{(int)c:x4}"),
                _ => escaped.Append(c),
            };
        }

        return escaped.ToString();
    }
}
