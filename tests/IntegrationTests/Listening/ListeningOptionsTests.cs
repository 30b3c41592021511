using System.Text;
using LayerExportApi.Hosting;
using LayerExportApi.Listening;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace IntegrationTests.Listening;

/// <summary>The socket path settings start-up refuses: those a socket address cannot hold as written.</summary>
public sealed class ListeningOptionsTests
{
    private const string TooLong = "Listen:UnixSocketPath must be at most 107 bytes in UTF-8, without a NUL, to fit a socket address.";

    [Fact]
    public void APathOfTheMostBytesAnAddressHoldsIsAccepted() =>
        Assert.Equal(107, Encoding.UTF8.GetByteCount(Options(PathOfBytes(107)).SocketPath!));

    // 'é' is two bytes: the path is 57 characters, far under a limit counted in characters.
    [Fact]
    public void APathOfFewCharactersButOneByteTooManyIsRefused() =>
        Assert.Contains(TooLong, Refused(PathOfBytes(108)).Failures);

    // The address would end at the NUL, and bind (or remove as stale) another file than the one named.
    [Fact]
    public void APathWithANulIsRefused() =>
        Assert.Contains(TooLong, Refused("/run/layer-export/api.sock\0.old").Failures);

    /// <summary>An absolute path of exactly <paramref name="bytes"/> UTF-8 bytes, mostly two-byte characters.</summary>
    internal static string PathOfBytes(int bytes, string directory = "/run")
    {
        var left = bytes - Encoding.UTF8.GetByteCount(directory + "/");
        return $"{directory}/{new string('é', left / 2)}{new string('a', left % 2)}";
    }

    private static OptionsValidationException Refused(string path) => Assert.Throws<OptionsValidationException>(() => Options(path));

    private static ListeningOptions Options(string path)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Configuration["Listen:UnixSocketPath"] = path;
        builder.AddListeners();
        using var services = builder.Services.BuildServiceProvider();
        return services.GetRequiredService<IOptions<ListeningOptions>>().Value;
    }
}
