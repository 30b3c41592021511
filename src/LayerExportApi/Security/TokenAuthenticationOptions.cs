namespace LayerExportApi.Security;

/// <summary>The configuration section <c>Authentication</c>: bearer tokens, known only by their SHA-256 hashes.</summary>
internal sealed class TokenAuthenticationOptions
{
    /// <summary>The section name.</summary>
    public const string SectionName = "Authentication";

    /// <summary>
    /// Hex SHA-256, in either case, of each accepted token (<c>printf %s "$TOKEN" | sha256sum</c>); none configured
    /// turns authentication off.
    /// </summary>
    public string[] TokenSha256Hashes { get; set; } = [];
}
