using System.Text;

namespace StressTests.Fuzz;

/// <summary>One fuzzed HTTP/1.1 request: method, request target and headers as raw bytes (one char = one byte), and what was mutated.</summary>
/// <param name="Index">Its position in the run; with the seed it reproduces the request.</param>
/// <param name="Method">The method token (not always a valid one).</param>
/// <param name="Target">The request target, sent as it is.</param>
/// <param name="Headers">Extra header lines, sent as they are.</param>
/// <param name="Mutations">Labels of what the fuzzer did, for reports.</param>
internal sealed record FuzzRequest(int Index, string Method, string Target, IReadOnlyList<(string Name, string Value)> Headers, IReadOnlyList<string> Mutations)
{
    /// <summary>The request's bytes, with a Host header and <c>Connection: close</c>, so the answer ends when the server closes.</summary>
    public byte[] ToBytes(string host)
    {
        var text = new StringBuilder();
        text.Append(Method).Append(' ').Append(Target).Append(" HTTP/1.1\r\n");
        text.Append("Host: ").Append(host).Append("\r\n");
        foreach (var (name, value) in Headers)
        {
            text.Append(name).Append(": ").Append(value).Append("\r\n");
        }

        text.Append("Connection: close\r\n\r\n");
        return Encoding.Latin1.GetBytes(text.ToString());
    }

    /// <summary>The request as printable text: bytes outside printable ASCII escaped, long values shortened.</summary>
    public string Describe(int maxValue = 160)
    {
        var text = new StringBuilder();
        text.Append('#').Append(Index).Append(" [").Append(string.Join(", ", Mutations)).Append("] ");
        text.Append(Escape(Method, maxValue)).Append(' ').Append(Escape(Target, maxValue));
        foreach (var (name, value) in Headers)
        {
            text.Append(" | ").Append(Escape(name, maxValue)).Append(": ").Append(Escape(value, maxValue));
        }

        return text.ToString();
    }

    private static string Escape(string raw, int max)
    {
        var text = new StringBuilder();
        foreach (var c in raw.Length > max ? raw[..max] : raw)
        {
            text.Append(c is >= ' ' and < (char)0x7F ? c.ToString() : $"\\x{(int)c:X2}");
        }

        return raw.Length > max ? $"{text}...({raw.Length} bytes)" : text.ToString();
    }
}
