using System.Net;

namespace LayerExportApi.Security;

/// <summary>Refuses, on a loopback connection to a server without tokens, a <c>Host</c> that names a domain other than <c>localhost</c>.</summary>
/// <remarks>
/// A web page can point its own domain name at 127.0.0.1 (DNS rebinding) and have the browser read this server's
/// answers as its own: every layer, when no tokens are configured. Such requests arrive over loopback with that
/// domain in <c>Host</c>; the clients this server is for name it <c>localhost</c> or by its address. With tokens
/// the page has none to send, so a reverse proxy on the same host may pass its own <c>Host</c> on. Connections
/// over other interfaces are left alone: whoever exposes the server there chooses its names (and its tokens).
/// </remarks>
internal static class LoopbackHostCheck
{
    /// <summary>Adds the check: a 421 problem for a foreign name on a loopback connection.</summary>
    public static WebApplication UseLoopbackHostCheck(this WebApplication app)
    {
        app.Use(static (context, next) => Accepts(context) ? next(context) : RefuseAsync(context));
        return app;
    }

    /// <summary>True unless tokens are off, the connection is over loopback and <c>Host</c> names a domain other than <c>localhost</c>.</summary>
    public static bool Accepts(HttpContext context)
    {
        if (context.Connection.LocalIpAddress is not { } local || !IPAddress.IsLoopback(local)
            || context.RequestServices.GetRequiredService<TokenHashes>().Enabled)
        {
            return true;
        }

        var host = context.Request.Host.Host;
        return host.Length == 0
            || IPAddress.TryParse(host.Trim('[', ']'), out _)
            || host.Equals("localhost", StringComparison.OrdinalIgnoreCase)
            || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase);
    }

    private static Task RefuseAsync(HttpContext context) => TypedResults.Problem(
        detail: $"This server answers to 'localhost' and its addresses on a loopback connection, not to '{context.Request.Host.Host}'.",
        statusCode: StatusCodes.Status421MisdirectedRequest,
        title: "Misdirected request",
        type: "urn:layer-export:problem:foreign-host").ExecuteAsync(context);
}
