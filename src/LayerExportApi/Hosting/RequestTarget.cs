using Microsoft.AspNetCore.Http.Features;

namespace LayerExportApi.Hosting;

/// <summary>The path of a request as its client sent it, before Kestrel decoded it.</summary>
/// <remarks>
/// Kestrel's decoded path leaves <c>%2F</c> encoded and decodes every other escape, so <c>a%2Fb</c> and
/// <c>a%252Fb</c>, two different names, read alike in it; the path as sent tells them apart.
/// </remarks>
internal static class RequestTarget
{
    /// <summary>The path part of <paramref name="request"/>'s target as sent, without its query.</summary>
    public static string PathAsSent(HttpRequest request)
    {
        var target = request.HttpContext.Features.GetRequiredFeature<IHttpRequestFeature>().RawTarget;
        var path = target.AsSpan(0, target.IndexOf('?') is var query and >= 0 ? query : target.Length);
        if (path.StartsWith('/'))
        {
            return path.ToString();
        }

        // An absolute-form target (RFC 9112, section 3.2.2) names the scheme and authority before the path.
        var authority = path.IndexOf("://", StringComparison.Ordinal) + 3;
        return authority >= 3 && path[authority..].IndexOf('/') is var start and >= 0 ? path[(authority + start)..].ToString() : "";
    }
}
