using System.Net;
using IntegrationTests.Support;
using LayerExportApi.Hosting;
using Microsoft.Extensions.Options;

namespace IntegrationTests;

/// <summary>Whoever can write the digest cache chooses the digests announced: the server keeps it where only its user can.</summary>
public sealed class DigestCacheDirectoryTests : IDisposable
{
    private const int Nobody = 65534;

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("base")
        .AddFile("base", "etc/hostname", "base\n"u8.ToArray());

    private readonly string _scratch = Directory.CreateTempSubdirectory("digest-cache-").FullName;

    public void Dispose()
    {
        _store.Dispose();
        Directory.Delete(_scratch, recursive: true);
    }

    [Fact]
    public async Task TheServerRefusesToStartWhenAnotherUserOwnsAnAncestorOfTheCache()
    {
        // The attack on a shared temp directory: another user made layer-export first.
        var planted = Path.Combine(_scratch, "layer-export");
        Directory.CreateDirectory(planted);
        var chown = await ProcessRunner.RunAsync("chown", [$"{Nobody}:{Nobody}", planted]);
        Assert.True(chown.ExitCode == 0, chown.Describe());

        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, ["DigestCache__Directory"] = Path.Combine(planted, "digests") },
            "--urls", "http://127.0.0.1:0");

        var exitCode = await server.WaitForExitAsync();

        Assert.True(exitCode == 1, $"exit code {exitCode}:{Environment.NewLine}{server.Output}");
        Assert.Contains($"LayerExport cannot start: DigestCache:Directory is unsafe: '{planted}/digests': '{planted}' belongs to uid {Nobody}", server.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Now listening on", server.Output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(planted, "digests")));
    }

    // The start-up check itself: each refusal names the setting, then the directory at fault and why.
    [Fact]
    public async Task AConfiguredDirectoryOthersCanWriteIsRefusedAsUnsafe()
    {
        var shared = Path.Combine(_scratch, "shared");
        Directory.CreateDirectory(shared);
        var chmod = await ProcessRunner.RunAsync("chmod", ["777", shared]);
        Assert.True(chmod.ExitCode == 0, chmod.Describe());

        var result = CheckDirectory(shared);

        Assert.True(result.Failed, "a directory every user can write was accepted");
        Assert.StartsWith($"DigestCache:Directory is unsafe: '{shared}': '{shared}' belongs to uid ", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains(" with mode 777;", result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public void AConfiguredDirectoryThatCannotBeCreatedIsRefusedSayingSo()
    {
        var name = new string('d', 300);

        var result = CheckDirectory(Path.Combine(_scratch, name));

        Assert.True(result.Failed, "a directory that cannot be made was accepted");
        Assert.StartsWith("DigestCache:Directory cannot be opened or created: ", result.FailureMessage, StringComparison.Ordinal);
        Assert.Contains(name, result.FailureMessage, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AConfiguredDirectoryOnlyThisUserCanWriteIsAcceptedAndMade()
    {
        var digests = Path.Combine(_scratch, "own", "digests");

        Assert.True(CheckDirectory(digests).Succeeded);
        var mode = await ProcessRunner.RunAsync("stat", ["-c", "%a", digests]);
        Assert.Equal("700", mode.StandardOutput.Trim());
    }

    // Unset is the user's cache directory, judged later as a preference; empty keeps digests in memory: neither is checked.
    [Theory]
    [InlineData(null)]
    [InlineData("")]
    public void NoConfiguredDirectoryIsNotChecked(string? directory) => Assert.True(CheckDirectory(directory).Succeeded);

    [Fact]
    public async Task ADigestTheCacheDirectoryCannotTakeIsServedAndTheFailureIsLogged()
    {
        var digests = Path.Combine(_scratch, "digests");
        await using var server = ApiServer.Start(_store.Root, settings: new Dictionary<string, string> { ["DigestCache:Directory"] = digests });
        using var client = server.CreateClient();

        // Writable by all, the directory is no longer safe to trust, so nothing is written to it.
        var chmod = await ProcessRunner.RunAsync("chmod", ["777", digests]);
        Assert.True(chmod.ExitCode == 0, chmod.Describe());
        using var response = await client.GetAsync(new Uri("/layers/base/descriptor", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var warning = await server.Logs.WaitForAsync(
            e => e.MessageTemplate.Text.StartsWith("A digest was kept in memory only", StringComparison.Ordinal),
            "the warning that a digest was not stored");
        Assert.Equal(Serilog.Events.LogEventLevel.Warning, warning.Level);
        Assert.Contains(digests, CapturedLogs.Property(warning, "Reason"), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(digests));
    }

    [Fact]
    public async Task ByDefaultDigestsAreKeptInTheUsersOwnCacheDirectory()
    {
        var home = Path.Combine(_scratch, "home");
        Directory.CreateDirectory(home);
        await DescribeWithDefaultCacheAsync(home);
        var digests = Path.Combine(home, ".cache", "layer-export", "digests");
        Assert.NotEmpty(Directory.GetFiles(digests, "*.json"));
        var mode = await ProcessRunner.RunAsync("stat", ["-c", "%a", digests]);
        Assert.Equal("700", mode.StandardOutput.Trim());
    }

    [Fact]
    public async Task AnUnusableDefaultKeepsDigestsInMemoryAndStillStarts()
    {
        // A container user whose HOME belongs to another uid: only a directory set on purpose must work.
        var home = Path.Combine(_scratch, "foreign-home");
        Directory.CreateDirectory(home);
        var chown = await ProcessRunner.RunAsync("chown", [$"{Nobody}:{Nobody}", home]);
        Assert.True(chown.ExitCode == 0, chown.Describe());
        var output = await DescribeWithDefaultCacheAsync(home);
        Assert.Contains("Digests are kept in memory only", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.Combine(home, ".cache")), "a directory was made under another user's home");
    }

    [Fact]
    public async Task AHomeThatDoesNotExistIsNeverMadeAndDigestsStayInMemory()
    {
        // Debian's nobody has HOME=/nonexistent; a server running as root must not make it.
        var home = Path.Combine(_scratch, "nonexistent");
        var output = await DescribeWithDefaultCacheAsync(home);
        Assert.Contains($"Digests are kept in memory only: the default DigestCache:Directory {home}/.cache/layer-export/digests cannot be used (HOME {home} does not exist)", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists(home), "the missing home was made");
    }

    // Docker's HOME for a user without a home of its own: the server, run as root, would make /.cache at the root.
    [Fact]
    public async Task AHomeOfTheRootKeepsDigestsInMemory()
    {
        Assert.False(Directory.Exists("/.cache/layer-export"), "a /.cache/layer-export from elsewhere is in the way of this test");

        var output = await DescribeWithDefaultCacheAsync("/");

        Assert.Contains("Digests are kept in memory only: the default DigestCache:Directory /.cache/layer-export/digests cannot be used (HOME is /, the file system's root)", output, StringComparison.Ordinal);
        Assert.False(Directory.Exists("/.cache/layer-export"), "a cache was made at the file system's root");
    }

    // Only a cache under the root's .cache is refused: the user's XDG_CACHE_HOME still keeps them with a HOME of /.
    [Fact]
    public async Task AnXdgCacheHomeKeepsDigestsWhenHomeIsTheRoot()
    {
        var xdg = Path.Combine(_scratch, "xdg");

        var output = await DescribeWithDefaultCacheAsync("/", xdg);

        Assert.NotEmpty(Directory.GetFiles(Path.Combine(xdg, "layer-export", "digests"), "*.json"));
        Assert.DoesNotContain("Digests are kept in memory only", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithNeitherHomeNorXdgCacheHomeItStillStartsAndSaysDigestsAreKeptInMemoryOnly()
    {
        // A service started with an empty environment has no user cache directory to prefer; its operator must
        // learn that digests will not survive a restart, as with every other unusable default.
        var output = await DescribeWithDefaultCacheAsync("");
        Assert.Contains("Digests are kept in memory only: neither XDG_CACHE_HOME nor HOME names an absolute directory to keep them in; set DigestCache:Directory to keep them across restarts", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnAbsoluteXdgCacheHomeIsPreferredToHome()
    {
        var home = Path.Combine(_scratch, "home");
        Directory.CreateDirectory(home);
        var xdg = Path.Combine(_scratch, "xdg");
        await DescribeWithDefaultCacheAsync(home, xdg);
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(xdg, "layer-export", "digests"), "*.json"));
        Assert.False(Directory.Exists(Path.Combine(home, ".cache")), "HOME's cache directory was used");
    }

    // The XDG base directory specification: a relative path is invalid and ignored. Used, it would be taken from
    // whatever directory the server was started in.
    [Fact]
    public async Task ARelativeXdgCacheHomeIsIgnoredForHome()
    {
        var home = Path.Combine(_scratch, "home");
        Directory.CreateDirectory(home);
        var relative = $"xdg-relative-{Guid.NewGuid():N}";
        try
        {
            await DescribeWithDefaultCacheAsync(home, relative);
            Assert.NotEmpty(Directory.GetFiles(Path.Combine(home, ".cache", "layer-export", "digests"), "*.json"));
            Assert.False(Directory.Exists(Path.Combine(AppContext.BaseDirectory, relative)), "the relative XDG_CACHE_HOME was used");
        }
        finally
        {
            if (Directory.Exists(Path.Combine(AppContext.BaseDirectory, relative)))
            {
                Directory.Delete(Path.Combine(AppContext.BaseDirectory, relative), recursive: true);
            }
        }
    }

    private static ValidateOptionsResult CheckDirectory(string? directory) =>
        new DigestCacheDirectoryCheck().Validate(null, new DigestCacheOptions { Directory = directory });

    // A server whose DigestCache:Directory is left unset, with this HOME (and XDG_CACHE_HOME); one descriptor asked of it; its output.
    private async Task<string> DescribeWithDefaultCacheAsync(string home, string xdgCacheHome = "")
    {
        await using var server = ServerProcess.Start(
            AppContext.BaseDirectory,
            new Dictionary<string, string> { ["LayerStore__Root"] = _store.Root, ["HOME"] = home, ["XDG_CACHE_HOME"] = xdgCacheHome },
            "--urls", "http://127.0.0.1:0");
        var address = await server.WaitUntilListeningAsync();
        using var client = new HttpClient { BaseAddress = address };

        using var response = await client.GetAsync(new Uri("/layers/base/descriptor", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return server.Output;
    }
}
