using System.Net;
using System.Net.Sockets;
using System.Text;

namespace StressTests.Infrastructure;

/// <summary>HTTP/1.1 over a bare socket: any bytes can be sent (control characters, broken encodings, huge lines), and a read can stop anywhere.</summary>
internal static class RawHttp
{
    private const int HeadKept = 4 * 1024;

    /// <summary>Sends <paramref name="request"/> as it is and reads the answer until the server closes, or until <paramref name="cutAfter"/> bytes.</summary>
    /// <param name="server">The server's address.</param>
    /// <param name="request">The complete request; it should say <c>Connection: close</c> so the server ends the answer by closing.</param>
    /// <param name="cutAfter">Stop reading after this many bytes and drop the connection; null reads to the end.</param>
    /// <param name="reset">When cutting: send a TCP reset (linger 0) instead of a normal close.</param>
    /// <param name="cancellationToken">Stops the exchange.</param>
    public static async Task<RawResponse> ExchangeAsync(IPEndPoint server, byte[] request, long? cutAfter, bool reset, CancellationToken cancellationToken)
    {
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        await socket.ConnectAsync(server, cancellationToken);
        string? sendError = null;
        try
        {
            await socket.SendAsync(request, SocketFlags.None, cancellationToken);
        }
        catch (SocketException e)
        {
            // The server may answer and close before it has read a huge request; its answer is still worth reading.
            sendError = e.SocketErrorCode.ToString();
        }

        var head = new MemoryStream();
        var buffer = new byte[64 * 1024];
        long received = 0;
        string? readError = null;
        try
        {
            while (cutAfter is not { } cut || received < cut)
            {
                var wanted = cutAfter is { } limit ? (int)Math.Min(buffer.Length, limit - received) : buffer.Length;
                var n = await socket.ReceiveAsync(buffer.AsMemory(0, wanted), SocketFlags.None, cancellationToken);
                if (n == 0)
                {
                    break;
                }

                if (head.Length < HeadKept)
                {
                    head.Write(buffer, 0, (int)Math.Min(n, HeadKept - head.Length));
                }

                received += n;
            }
        }
        catch (SocketException e)
        {
            readError = e.SocketErrorCode.ToString();
        }

        if (reset)
        {
            socket.LingerState = new LingerOption(true, 0);
        }

        socket.Close();
        return new RawResponse(head.ToArray(), received, sendError ?? readError);
    }
}

/// <summary>The start of an answer read from a bare socket.</summary>
/// <param name="Head">The first bytes received (status line, headers, the start of the body).</param>
/// <param name="Received">All bytes received.</param>
/// <param name="Error">The socket error that ended the exchange, if any.</param>
internal sealed record RawResponse(byte[] Head, long Received, string? Error)
{
    /// <summary>The status code of the status line, or null when no status line arrived.</summary>
    public int? Status
    {
        get
        {
            var text = Encoding.Latin1.GetString(Head);
            return text.StartsWith("HTTP/1.", StringComparison.Ordinal) && text.Length >= 12 && int.TryParse(text.AsSpan(9, 3), out var status) ? status : null;
        }
    }

    /// <summary>The header block as text, for messages.</summary>
    public string HeaderText
    {
        get
        {
            var text = Encoding.Latin1.GetString(Head);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            return end >= 0 ? text[..end] : text;
        }
    }

    /// <summary>The body's start (after the header block), as text, for messages.</summary>
    public string BodyText
    {
        get
        {
            var text = Encoding.Latin1.GetString(Head);
            var end = text.IndexOf("\r\n\r\n", StringComparison.Ordinal);
            return end >= 0 ? text[(end + 4)..] : "";
        }
    }
}
