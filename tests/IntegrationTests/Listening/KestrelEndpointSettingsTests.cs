using LayerExportApi.Listening;
using Microsoft.Extensions.Configuration;

namespace IntegrationTests.Listening;

/// <summary>What a failed start says of the Kestrel section: its endpoints, their certificates, and whether HTTPS lacks one.</summary>
public sealed class KestrelEndpointSettingsTests
{
    private const string ContentRoot = "/srv/layer-export";

    [Fact]
    public void EachEndpointIsNamedWithItsCertificateFilesSniCertificatesAndStoreSubjectButNoPassword()
    {
        var settings = Read(new()
        {
            ["Kestrel:Endpoints:Files:Url"] = "https://+:8443",
            ["Kestrel:Endpoints:Files:Certificate:Path"] = "tls/server.crt",
            ["Kestrel:Endpoints:Files:Certificate:KeyPath"] = "/etc/tls/server.key",
            ["Kestrel:Endpoints:Files:Certificate:Password"] = "secret",
            ["Kestrel:Endpoints:Named:Url"] = "https://+:9443",
            ["Kestrel:Endpoints:Named:Sni:a.example:Certificate:Path"] = "/etc/tls/a.crt",
            ["Kestrel:Endpoints:Named:Sni:b.example:Protocols"] = "Http1",
            ["Kestrel:Endpoints:Store:Url"] = "https://+:10443",
            ["Kestrel:Endpoints:Store:Certificate:Subject"] = "layers.example",
            ["Kestrel:Endpoints:Unnamed:Protocols"] = "Http1",
            ["Kestrel:Certificates:Default:Path"] = "/etc/tls/default.crt",
        });

        Assert.Equal(
            "Kestrel endpoints: Files https://+:8443 (certificate /srv/layer-export/tls/server.crt, key /etc/tls/server.key), "
            + "Named https://+:9443 (SNI a.example: certificate /etc/tls/a.crt), "
            + "Store https://+:10443 (certificate subject 'layers.example' in store My), "
            + "Unnamed (no Url); Kestrel:Certificates:Default: certificate /etc/tls/default.crt",
            settings.Describe(["http://127.0.0.1:5000"]));
    }

    [Fact]
    public void WithoutEndpointsTheAddressesAreNamed()
    {
        Assert.Equal("addresses: https://127.0.0.1:5001, http://unix:/run/api.sock", Read(new()).Describe(["https://127.0.0.1:5001", "http://unix:/run/api.sock"]));
        Assert.Equal("", Read(new()).Describe([]));
    }

    // Kestrel takes an endpoint's own certificate, else one by SNI, else the default; a key without a certificate is none.
    [Theory]
    [InlineData("Kestrel:Endpoints:Secure:Certificate:Path", false)]
    [InlineData("Kestrel:Endpoints:Secure:Certificate:Subject", false)]
    [InlineData("Kestrel:Endpoints:Secure:Sni:a.example:Certificate:Path", false)]
    [InlineData("Kestrel:Certificates:Default:Path", false)]
    [InlineData("Kestrel:Endpoints:Secure:Certificate:KeyPath", true)]
    [InlineData("Kestrel:Endpoints:Plain:Certificate:Path", true)]
    public void AnHttpsEndpointLacksACertificateOnlyWhenNoneOfItsSourcesNamesOne(string setting, bool lacks)
    {
        var settings = Read(new()
        {
            ["Kestrel:Endpoints:Plain:Url"] = "http://127.0.0.1:5000",
            ["Kestrel:Endpoints:Secure:Url"] = "HTTPS://127.0.0.1:5001",
            [setting] = "server.crt",
        });

        Assert.Equal(lacks, settings.HttpsLacksACertificate(["https://127.0.0.1:7000"]));
    }

    // Kestrel binds the endpoints instead of the addresses when there are any.
    [Fact]
    public void AnHttpsAddressLacksACertificateOnlyWithoutEndpointsAndWithoutTheDefaultOne()
    {
        Assert.True(Read(new()).HttpsLacksACertificate(["http://127.0.0.1:5000", "https://127.0.0.1:5001"]));
        Assert.False(Read(new()).HttpsLacksACertificate(["http://127.0.0.1:5000"]));
        Assert.False(Read(new() { ["Kestrel:Endpoints:Plain:Url"] = "http://127.0.0.1:5000" }).HttpsLacksACertificate(["https://127.0.0.1:5001"]));
        Assert.False(Read(new() { ["Kestrel:Certificates:Default:Path"] = "server.crt" }).HttpsLacksACertificate(["https://127.0.0.1:5001"]));
    }

    private static KestrelEndpointSettings Read(Dictionary<string, string?> values) =>
        KestrelEndpointSettings.Read(new ConfigurationBuilder().AddInMemoryCollection(values).Build(), ContentRoot);
}
