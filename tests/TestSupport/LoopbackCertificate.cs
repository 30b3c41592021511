using System.Net;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;

namespace LayerExport.TestSupport;

/// <summary>A self-signed certificate for <c>localhost</c>, 127.0.0.1 and ::1, written as PEM files for a test server.</summary>
/// <remarks>
/// Made afresh for each use, so no test depends on a certificate installed on the machine or one that expires. A
/// client trusts it by its certificate file alone (<c>curl --cacert</c>), as a deployment's clients trust its CA.
/// </remarks>
public sealed class LoopbackCertificate
{
    private LoopbackCertificate(string certificatePath, string keyPath)
    {
        CertificatePath = certificatePath;
        KeyPath = keyPath;
    }

    /// <summary>The certificate, PEM.</summary>
    public string CertificatePath { get; }

    /// <summary>Its private key, PKCS#8 PEM: encrypted when it was made with a password.</summary>
    public string KeyPath { get; }

    /// <summary>Writes <c>{name}.crt</c> and <c>{name}.key</c> into <paramref name="directory"/>, the key encrypted with <paramref name="password"/> if given.</summary>
    public static LoopbackCertificate Create(string directory, string name = "loopback", string? password = null)
    {
        using var key = ECDsa.Create(ECCurve.NamedCurves.nistP256);
        var request = new CertificateRequest("CN=localhost", key, HashAlgorithmName.SHA256);
        var names = new SubjectAlternativeNameBuilder();
        names.AddDnsName("localhost");
        names.AddIpAddress(IPAddress.Loopback);
        names.AddIpAddress(IPAddress.IPv6Loopback);
        request.CertificateExtensions.Add(names.Build());
        request.CertificateExtensions.Add(new X509BasicConstraintsExtension(certificateAuthority: false, hasPathLengthConstraint: false, pathLengthConstraint: 0, critical: true));
        request.CertificateExtensions.Add(new X509KeyUsageExtension(X509KeyUsageFlags.DigitalSignature, critical: true));
        request.CertificateExtensions.Add(new X509EnhancedKeyUsageExtension([new Oid("1.3.6.1.5.5.7.3.1")], critical: false));

        // Backdated a little: the clocks of the test and of the client agree, but not to the second.
        var now = DateTimeOffset.UtcNow;
        using var certificate = request.CreateSelfSigned(now.AddMinutes(-5), now.AddDays(1));

        var certificatePath = Path.Combine(directory, $"{name}.crt");
        var keyPath = Path.Combine(directory, $"{name}.key");
        File.WriteAllText(certificatePath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, password is null
            ? key.ExportPkcs8PrivateKeyPem()
            : key.ExportEncryptedPkcs8PrivateKeyPem(password, new PbeParameters(PbeEncryptionAlgorithm.Aes256Cbc, HashAlgorithmName.SHA256, 100_000)));
        return new LoopbackCertificate(certificatePath, keyPath);
    }
}
