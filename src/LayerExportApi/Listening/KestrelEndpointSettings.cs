namespace LayerExportApi.Listening;

/// <summary>The endpoints and certificate files the <c>Kestrel</c> section configures, as a failed start names them.</summary>
/// <remarks>
/// Read from the settings, not from Kestrel, which may fail before it has taken them all in. File paths are given as
/// Kestrel opens them, resolved against the content root; a certificate's password is never read.
/// </remarks>
internal sealed class KestrelEndpointSettings
{
    /// <summary>What an HTTPS address without a certificate needs, in the settings' own names.</summary>
    public const string CertificateHint =
        "Give HTTPS a certificate: Kestrel:Certificates:Default:Path and Kestrel:Certificates:Default:KeyPath name a PEM certificate and its key (or an endpoint's Certificate:Path and Certificate:KeyPath).";

    private readonly IReadOnlyList<Endpoint> _endpoints;
    private readonly Certificate? _default;

    private KestrelEndpointSettings(IReadOnlyList<Endpoint> endpoints, Certificate? defaultCertificate)
    {
        _endpoints = endpoints;
        _default = defaultCertificate;
    }

    /// <summary>Reads <c>Kestrel:Endpoints</c> and <c>Kestrel:Certificates:Default</c>.</summary>
    public static KestrelEndpointSettings Read(IConfiguration configuration, string contentRoot)
    {
        var kestrel = configuration.GetSection("Kestrel");
        var endpoints = kestrel.GetSection("Endpoints").GetChildren()
            .Select(endpoint => new Endpoint(
                endpoint.Key,
                endpoint["Url"],
                Certificate.Read(endpoint.GetSection("Certificate"), contentRoot),
                [.. endpoint.GetSection("Sni").GetChildren()
                    .Select(sni => (Host: sni.Key, Certificate: Certificate.Read(sni.GetSection("Certificate"), contentRoot)))
                    .Where(static sni => sni.Certificate is not null)
                    .Select(static sni => (sni.Host, sni.Certificate!))]))
            .ToList();
        return new KestrelEndpointSettings(endpoints, Certificate.Read(kestrel.GetSection("Certificates:Default"), contentRoot));
    }

    /// <summary>
    /// Whether an HTTPS endpoint (or, when no endpoint is configured, one of <paramref name="addresses"/>) has no
    /// certificate: none of its own, none by SNI, and no default one.
    /// </summary>
    /// <remarks>Kestrel binds the configured endpoints instead of the addresses when there are any.</remarks>
    public bool HttpsLacksACertificate(IReadOnlyCollection<string> addresses)
    {
        if (_default is { NamesACertificate: true })
        {
            return false;
        }

        return _endpoints.Count == 0
            ? addresses.Any(IsHttps)
            : _endpoints.Any(static e => e.Url is { } url && IsHttps(url) && e.Certificate is not { NamesACertificate: true } && !e.Sni.Any(static sni => sni.Certificate.NamesACertificate));
    }

    /// <summary>The configured endpoints (else <paramref name="addresses"/>) and the default certificate, or empty when there are none.</summary>
    public string Describe(IReadOnlyCollection<string> addresses)
    {
        var parts = new List<string>();
        if (_endpoints.Count > 0)
        {
            parts.Add($"Kestrel endpoints: {string.Join(", ", _endpoints.Select(static e => e.Describe()))}");
        }
        else if (addresses.Count > 0)
        {
            parts.Add($"addresses: {string.Join(", ", addresses)}");
        }

        if (_default is not null)
        {
            parts.Add($"Kestrel:Certificates:Default: {_default.Describe()}");
        }

        return string.Join("; ", parts);
    }

    private static bool IsHttps(string url) => url.StartsWith("https://", StringComparison.OrdinalIgnoreCase);

    private sealed record Endpoint(string Name, string? Url, Certificate? Certificate, IReadOnlyList<(string Host, Certificate Certificate)> Sni)
    {
        public string Describe()
        {
            var certificates = Sni.Select(static sni => $"SNI {sni.Host}: {sni.Certificate.Describe()}").ToList();
            if (Certificate is not null)
            {
                certificates.Insert(0, Certificate.Describe());
            }

            var url = Url is { Length: > 0 } ? Url : "(no Url)";
            return certificates.Count == 0 ? $"{Name} {url}" : $"{Name} {url} ({string.Join("; ", certificates)})";
        }
    }

    // Kestrel takes a file certificate by Path, a store certificate by Subject; KeyPath alone names none.
    private sealed record Certificate(string? Path, string? KeyPath, string? Subject, string? Store)
    {
        public bool NamesACertificate => !string.IsNullOrEmpty(Path) || !string.IsNullOrEmpty(Subject);

        public static Certificate? Read(IConfigurationSection section, string contentRoot)
        {
            var certificate = new Certificate(
                Resolve(section["Path"], contentRoot),
                Resolve(section["KeyPath"], contentRoot),
                NullIfEmpty(section["Subject"]),
                NullIfEmpty(section["Store"]));
            return certificate is { Path: null, KeyPath: null, Subject: null } ? null : certificate;
        }

        public string Describe()
        {
            var parts = new List<string>();
            if (Path is not null)
            {
                parts.Add($"certificate {Path}");
            }

            if (KeyPath is not null)
            {
                parts.Add($"key {KeyPath}");
            }

            if (Subject is not null)
            {
                parts.Add($"certificate subject '{Subject}' in store {Store ?? "My"}");
            }

            return string.Join(", ", parts);
        }

        private static string? Resolve(string? path, string contentRoot) =>
            string.IsNullOrEmpty(path) ? null : System.IO.Path.Combine(contentRoot, path);

        private static string? NullIfEmpty(string? value) => string.IsNullOrEmpty(value) ? null : value;
    }
}
