using LayerExportApi.Security;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Options;

namespace LayerExportApi.Hosting;

/// <summary>Optional bearer-token authentication over every endpoint except the health probes and the API documentation.</summary>
internal static partial class AuthenticationExtensions
{
    /// <summary>Binds <c>Authentication</c>, validates the hashes at start and registers the scheme.</summary>
    public static WebApplicationBuilder AddTokenAuthentication(this WebApplicationBuilder builder)
    {
        builder.Services.AddOptions<TokenAuthenticationOptions>()
            .BindConfiguration(TokenAuthenticationOptions.SectionName)
            .Configure<IConfiguration>(static (options, configuration) =>
            {
                // One value (an environment variable) may list several hashes, separated by commas or spaces.
                var list = configuration[$"{TokenAuthenticationOptions.SectionName}:{nameof(TokenAuthenticationOptions.TokenSha256Hashes)}"];
                if (!string.IsNullOrWhiteSpace(list))
                {
                    options.TokenSha256Hashes = [.. options.TokenSha256Hashes, .. list.Split([',', ' ', ';', '\n'], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)];
                }
            })
            .Validate(
                static options => options.TokenSha256Hashes.All(TokenHashes.IsHexHash),
                "Authentication:TokenSha256Hashes holds an entry that is not a SHA-256 hash of 64 hex digits (printf %s \"$TOKEN\" | sha256sum).")
            .ValidateOnStart();
        builder.Services.AddSingleton(static services =>
            new TokenHashes(services.GetRequiredService<IOptions<TokenAuthenticationOptions>>().Value.TokenSha256Hashes));

        // The core services only: AddAuthentication would also bring data protection, whose key ring this server
        // never uses but would create on disk at every start.
        builder.Services.AddAuthenticationCore(static options => options.DefaultScheme = BearerTokenHandler.SchemeName);
        builder.Services.AddWebEncoders();
        builder.Services.TryAddSingleton(TimeProvider.System);
        new AuthenticationBuilder(builder.Services)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, displayName: null, configureOptions: null);
        builder.Services.AddAuthorization();
        builder.Services.AddOptions<AuthorizationOptions>().Configure<TokenHashes>(static (options, tokens) =>
        {
            // The fallback policy covers every request without its own: all endpoints and unknown paths. Only the
            // endpoints marked AllowAnonymous escape it: the health probes, the OpenAPI document and Swagger UI.
            if (tokens.Enabled)
            {
                options.FallbackPolicy = new AuthorizationPolicyBuilder().RequireAuthenticatedUser().Build();
            }
        });
        return builder;
    }

    /// <summary>Authenticates and authorizes every request that reaches this point; logs whether tokens are required.</summary>
    public static WebApplication UseTokenAuthentication(this WebApplication app)
    {
        var tokens = app.Services.GetRequiredService<TokenHashes>();
        if (tokens.Enabled)
        {
            Log.TokensRequired(app.Logger);
        }
        else
        {
            Log.Off(app.Logger);
        }

        app.UseAuthentication();
        app.UseAuthorization();
        return app;
    }

    private static partial class Log
    {
        [LoggerMessage(Level = LogLevel.Information, Message = "Authentication: a bearer token is required on every endpoint but /healthz, /readyz, /openapi/v1.json and /swagger")]
        public static partial void TokensRequired(ILogger logger);

        [LoggerMessage(Level = LogLevel.Warning, Message = "Authentication is off (no Authentication:TokenSha256Hashes): whoever can connect can read every layer")]
        public static partial void Off(ILogger logger);
    }
}
