using System.Text;
using IntegrationTests.Support;
using LayerExport.TestSupport;

namespace IntegrationTests;

/// <summary>HTTPS through Kestrel's own settings, with a PEM certificate and key, and the start-up line when they are wrong.</summary>
public sealed class HttpsTests : IDisposable
{
    private const string Layer = "secure";
    private const string Password = "never-logged-7f3a";

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer(Layer)
        .AddFile(Layer, "etc/motd", Encoding.UTF8.GetBytes("over TLS\n"));

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("https-");

    public void Dispose()
    {
        _store.Dispose();
        _work.Delete(recursive: true);
    }

    // An endpoint's own Certificate section; Kestrel listens on its endpoints alone.
    [Fact]
    public async Task AnEndpointWithAPemCertificateAndKeyServesATarOverHttps()
    {
        var certificate = LoopbackCertificate.Create(_work.FullName);
        var settings = new Dictionary<string, string>
        {
            ["LayerStore__Root"] = _store.Root,
            ["Kestrel__Endpoints__Secure__Url"] = "https://127.0.0.1:0",
            ["Kestrel__Endpoints__Secure__Certificate__Path"] = certificate.CertificatePath,
            ["Kestrel__Endpoints__Secure__Certificate__KeyPath"] = certificate.KeyPath,
        };

        await using var server = ServerProcess.Start(AppContext.BaseDirectory, settings);

        await AssertServesTheLayerOverHttpsAsync(await server.WaitUntilListeningAsync(), certificate);
    }

    // README's way: --urls https:// and the default certificate, here with a key encrypted by its password; the Unix
    // socket is listened on beside it.
    [Fact]
    public async Task TheDefaultCertificateServesAnHttpsUrlBesideTheUnixSocket()
    {
        var certificate = LoopbackCertificate.Create(_work.FullName, password: Password);
        var socket = Path.Combine(_work.FullName, "api.sock");
        var settings = new Dictionary<string, string>
        {
            ["LayerStore__Root"] = _store.Root,
            ["Kestrel__Certificates__Default__Path"] = certificate.CertificatePath,
            ["Kestrel__Certificates__Default__KeyPath"] = certificate.KeyPath,
            ["Kestrel__Certificates__Default__Password"] = Password,
            ["Listen__UnixSocketPath"] = socket,
        };

        await using var server = ServerProcess.Start(AppContext.BaseDirectory, settings, "--urls", "https://127.0.0.1:0");

        await AssertServesTheLayerOverHttpsAsync(await server.WaitUntilListeningAsync(), certificate);
        using var unix = UnixSocketHttp.CreateClient(socket);
        Assert.Equal("over TLS\n", await GnuTar.ReadMemberAsync(await SaveAsync(unix, "unix.tar"), "etc/motd"));
        Assert.DoesNotContain(Password, server.Output, StringComparison.Ordinal);
    }

    // curl checks the server's certificate against the one file it is told to trust, and the name it asked for; it
    // takes HTTP/2 where the server offers it. GNU tar and Python's tarfile read what it saved.
    private async Task AssertServesTheLayerOverHttpsAsync(Uri address, LoopbackCertificate certificate)
    {
        Assert.Equal(Uri.UriSchemeHttps, address.Scheme);
        var archive = Path.Combine(_work.FullName, "layer.tar");
        var curl = await ProcessRunner.RunAsync("curl", ["-sS", "--fail", "--cacert", certificate.CertificatePath, "-o", archive, "-w", "%{http_version}", new Uri(address, $"/layers/{Layer}/tar").ToString()]);
        Assert.True(curl.ExitCode == 0, curl.Describe());
        Assert.Equal("2", curl.StandardOutput);

        Assert.Equal(["etc/", "etc/motd"], await GnuTar.ListNamesAsync(archive));
        Assert.Equal("over TLS\n", await GnuTar.ReadMemberAsync(archive, "etc/motd"));
        var python = await ProcessRunner.RunAsync("python3", ["-c", "import sys, tarfile; print(tarfile.open(sys.argv[1]).extractfile('etc/motd').read().decode(), end='')", archive]);
        Assert.True(python.ExitCode == 0, python.Describe());
        Assert.Equal("over TLS\n", python.StandardOutput);
    }

    private async Task<string> SaveAsync(HttpClient client, string name)
    {
        var path = Path.Combine(_work.FullName, name);
        await File.WriteAllBytesAsync(path, await client.GetByteArrayAsync(new Uri($"/layers/{Layer}/tar", UriKind.Relative)));
        return path;
    }

    // An HTTPS endpoint and no certificate: Kestrel's advice is a developer's certificate; a server needs the settings.
    [Fact]
    public async Task AnHttpsEndpointWithoutACertificateStopsStartUpNamingTheSettingsThatGiveOne()
    {
        var settings = Isolated();
        settings["Kestrel__Endpoints__Plain__Url"] = "http://127.0.0.1:0";
        settings["Kestrel__Endpoints__Secure__Url"] = "https://127.0.0.1:0";

        var output = await ServerProcess.AssertStartUpFailureAsync(
            settings,
            "the server cannot listen: Unable to configure HTTPS endpoint. No server certificate was specified, and the default developer certificate could not be found or is out of date. "
            + "Give HTTPS a certificate: Kestrel:Certificates:Default:Path and Kestrel:Certificates:Default:KeyPath name a PEM certificate and its key (or an endpoint's Certificate:Path and Certificate:KeyPath). "
            + "(Kestrel endpoints: Plain http://127.0.0.1:0, Secure https://127.0.0.1:0)");

        Assert.DoesNotContain("dev-certs", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnHttpsUrlWithoutACertificateStopsStartUpNamingTheSettingsThatGiveOne()
    {
        await ServerProcess.AssertStartUpFailureAsync(
            Isolated(),
            "Give HTTPS a certificate: Kestrel:Certificates:Default:Path and Kestrel:Certificates:Default:KeyPath name a PEM certificate and its key (or an endpoint's Certificate:Path and Certificate:KeyPath). (addresses: https://127.0.0.1:0)",
            urls: "https://127.0.0.1:0");
    }

    // Named as Kestrel opens them: a relative path from the content root. The password is never written.
    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ACertificateFileThatDoesNotExistStopsStartUpNamingTheEndpointAndItsFiles(bool relative)
    {
        var certificate = LoopbackCertificate.Create(_work.FullName);
        var missing = relative ? "missing.crt" : Path.Combine(_work.FullName, "missing.crt");
        var resolved = Path.Combine(AppContext.BaseDirectory, missing);
        var settings = new Dictionary<string, string>
        {
            ["LayerStore__Root"] = _store.Root,
            ["Kestrel__Endpoints__Secure__Url"] = "https://127.0.0.1:0",
            ["Kestrel__Endpoints__Secure__Certificate__Path"] = missing,
            ["Kestrel__Endpoints__Secure__Certificate__KeyPath"] = certificate.KeyPath,
            ["Kestrel__Endpoints__Secure__Certificate__Password"] = Password,
        };

        var output = await ServerProcess.AssertStartUpFailureAsync(
            settings,
            $"the server cannot listen: Could not find file '{resolved}'. (Kestrel endpoints: Secure https://127.0.0.1:0 (certificate {resolved}, key {certificate.KeyPath}))");

        Assert.DoesNotContain(Password, output, StringComparison.Ordinal);
    }

    // Kestrel's own message names only the key file, not why it was refused, nor the certificate it was paired with.
    [Fact]
    public async Task AKeyThatDoesNotMatchTheCertificateStopsStartUpNamingBothFiles()
    {
        var certificate = LoopbackCertificate.Create(_work.FullName);
        var other = LoopbackCertificate.Create(_work.FullName, "other");
        var settings = new Dictionary<string, string>
        {
            ["LayerStore__Root"] = _store.Root,
            ["Kestrel__Certificates__Default__Path"] = certificate.CertificatePath,
            ["Kestrel__Certificates__Default__KeyPath"] = other.KeyPath,
        };

        await ServerProcess.AssertStartUpFailureAsync(
            settings,
            $"the server cannot listen: Error getting private key from '{other.KeyPath}'. The provided key does not match the public key for this certificate. (Parameter 'privateKey') "
            + $"(addresses: https://127.0.0.1:0; Kestrel:Certificates:Default: certificate {certificate.CertificatePath}, key {other.KeyPath})",
            urls: "https://127.0.0.1:0");
    }

    // A developer's certificate in the user's store would stand in for the missing one: the server gets a home without one.
    private Dictionary<string, string> Isolated() => new()
    {
        ["LayerStore__Root"] = _store.Root,
        ["HOME"] = _work.CreateSubdirectory("home").FullName,
        ["DigestCache__Directory"] = "",
    };
}
