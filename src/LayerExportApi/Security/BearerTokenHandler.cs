using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;
using Microsoft.Extensions.Primitives;
using Microsoft.Net.Http.Headers;

namespace LayerExportApi.Security;

/// <summary>The <c>Bearer</c> scheme: a token in <c>Authorization</c>, accepted when its SHA-256 is configured.</summary>
/// <remarks>
/// A refusal is an RFC 7807 problem with <c>WWW-Authenticate: Bearer realm="layer-export"</c>, plus
/// <c>error="invalid_token"</c> when a bearer credential was presented; another scheme's credential (Basic, say)
/// counts as none, as RFC 6750 section 3.1 asks. Neither the token nor its hash is put into a failure message, a
/// log line or a response.
/// </remarks>
internal sealed class BearerTokenHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    TokenHashes tokens) : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    /// <summary>The scheme's name, in the challenge and the OpenAPI document.</summary>
    public const string SchemeName = "Bearer";

    /// <summary>The protection space named in every challenge.</summary>
    public const string Realm = "layer-export";

    private const string Prefix = "Bearer ";

    /// <inheritdoc />
    protected override Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var authorization = Request.Headers.Authorization;
        if (!tokens.Enabled || !PresentsBearer(authorization))
        {
            return Task.FromResult(AuthenticateResult.NoResult());
        }

        var presented = authorization.Count == 1 ? authorization[0] : null;
        if (presented is not null
            && presented.StartsWith(Prefix, StringComparison.OrdinalIgnoreCase)
            && presented[Prefix.Length..].Trim() is { Length: > 0 } token
            && tokens.Accepts(token))
        {
            var identity = new ClaimsIdentity(SchemeName);
            return Task.FromResult(AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName)));
        }

        return Task.FromResult(AuthenticateResult.Fail("The Authorization header does not hold an accepted bearer token."));
    }

    /// <inheritdoc />
    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        var presented = PresentsBearer(Request.Headers.Authorization);
        Response.Headers.WWWAuthenticate = presented
            ? $"{SchemeName} realm=\"{Realm}\", error=\"invalid_token\""
            : $"{SchemeName} realm=\"{Realm}\"";
        Response.Headers.CacheControl = "no-store";
        var problem = presented
            ? TypedResults.Problem(
                detail: "The bearer token is not one this server accepts.",
                statusCode: StatusCodes.Status401Unauthorized,
                title: "Invalid token",
                type: "urn:layer-export:problem:invalid-token")
            : TypedResults.Problem(
                detail: $"This server requires a bearer token: '{HeaderNames.Authorization}: Bearer <token>'.",
                statusCode: StatusCodes.Status401Unauthorized,
                title: "Authentication required",
                type: "urn:layer-export:problem:unauthorized");
        await problem.ExecuteAsync(Context);
    }

    private static bool PresentsBearer(StringValues authorization) =>
        authorization.Any(static value => value is not null
            && value.StartsWith(SchemeName, StringComparison.OrdinalIgnoreCase)
            && (value.Length == SchemeName.Length || value[SchemeName.Length] == ' '));
}
