using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;

namespace IntegrationTests.Support;

/// <summary>
/// One HTTP/1.1 exchange over a plain socket, for what HttpClient hides: request targets it would normalise
/// (<c>..</c>, <c>%00</c>) and the exact bytes that follow the response headers on the wire.
/// </summary>
internal static class RawHttp
{
    private static readonly byte[] HeaderEnd = "\r\n\r\n"u8.ToArray();

    /// <summary>A response as read from the socket up to the server's close.</summary>
    public sealed record Response(int Status, IReadOnlyDictionary<string, string> Headers, byte[] WireBody)
    {
        /// <summary>The body with chunked framing removed.</summary>
        public byte[] Body => Headers.TryGetValue("Transfer-Encoding", out var coding) && coding == "chunked" ? Unchunk(WireBody) : WireBody;

        /// <summary>The same response as an <see cref="HttpResponseMessage"/>, for shared assertions.</summary>
        public HttpResponseMessage ToMessage()
        {
            var content = new ByteArrayContent(Body);
            if (Headers.TryGetValue("Content-Type", out var type))
            {
                content.Headers.ContentType = MediaTypeHeaderValue.Parse(type);
            }

            return new HttpResponseMessage((HttpStatusCode)Status) { Content = content };
        }
    }

    /// <summary>Sends <c>{method} {target} HTTP/1.1</c> with <c>Connection: close</c> and reads until the server closes.</summary>
    public static Task<Response> SendAsync(Uri server, string method, string target) => SendAsync(server, method, target, []);

    /// <summary>The same, with <paramref name="headers"/> written as given (bytes above 0x7F as Latin-1), repeats allowed.</summary>
    public static async Task<Response> SendAsync(Uri server, string method, string target, IEnumerable<(string Name, string Value)> headers)
    {
        using var deadline = new CancellationTokenSource(CapturedLogs.SafetyTimeout);
        using var tcp = new TcpClient();
        await tcp.ConnectAsync(server.Host, server.Port, deadline.Token);
        var stream = tcp.GetStream();
        var lines = string.Concat(headers.Select(h => $"{h.Name}: {h.Value}\r\n"));
        var request = $"{method} {target} HTTP/1.1\r\nHost: {server.Authority}\r\nConnection: close\r\n{lines}\r\n";
        await stream.WriteAsync(Encoding.Latin1.GetBytes(request), deadline.Token);

        using var received = new MemoryStream();
        await stream.CopyToAsync(received, deadline.Token);
        return Parse(received.ToArray());
    }

    private static Response Parse(byte[] bytes)
    {
        var end = bytes.AsSpan().IndexOf(HeaderEnd);
        Assert.True(end >= 0, $"no complete response head in {bytes.Length} bytes");
        var lines = Encoding.ASCII.GetString(bytes, 0, end).Split("\r\n");
        var status = int.Parse(lines[0].Split(' ')[1], System.Globalization.CultureInfo.InvariantCulture);
        var headers = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        foreach (var line in lines.Skip(1))
        {
            var colon = line.IndexOf(':', StringComparison.Ordinal);
            headers[line[..colon]] = line[(colon + 1)..].Trim();
        }

        return new Response(status, headers, bytes[(end + HeaderEnd.Length)..]);
    }

    private static byte[] Unchunk(byte[] wire)
    {
        using var body = new MemoryStream();
        var position = 0;
        while (true)
        {
            var lineEnd = wire.AsSpan(position).IndexOf("\r\n"u8) + position;
            var size = Convert.ToInt32(Encoding.ASCII.GetString(wire, position, lineEnd - position).Split(';')[0], 16);
            if (size == 0)
            {
                return body.ToArray();
            }

            body.Write(wire, lineEnd + 2, size);
            position = lineEnd + 2 + size + 2;
        }
    }
}
