using System.Net;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>
/// A file the server may not read is found by the walk that measures the tar, before the response starts: a problem
/// naming the file, not a download that breaks off where the file comes.
/// </summary>
/// <remarks>
/// The server runs as nobody, whom file modes and ACLs bind. Each refused file comes after 1 MiB of another, more
/// than the first flush of a body, so without the check the response would have started and could only be cut.
/// </remarks>
public sealed class UnreadableFileTests : IDisposable
{
    private const string Nobody = "65534";

    private readonly TempLayerStore _store = TempLayerStore.Create()
        .AddLayer("private")
        .AddPatternFile("private", "a/first.bin", 1024 * 1024)
        .AddFile("private", "z/secret", "root only\n"u8.ToArray())
        .AddLayer("acl")
        .AddPatternFile("acl", "a/first.bin", 1024 * 1024)
        .AddFile("acl", "z/denied", "not for nobody\n"u8.ToArray())
        .AddLayer("granted")
        .AddPatternFile("granted", "a/first.bin", 1024 * 1024)
        .AddFile("granted", "z/group", "by group\n"u8.ToArray())
        .AddFile("granted", "z/own", "by owner\n"u8.ToArray());

    private readonly DirectoryInfo _windowsStore = Directory.CreateTempSubdirectory("windows-store-");

    public UnreadableFileTests()
    {
        Run("chmod", "-R", "a+rX", _store.Root);
        Run("chmod", "600", Path.Combine(_store.DiffPath("private"), "z/secret"));

        // Mode 0644 lets everyone read; the ACL's entry for nobody alone refuses.
        Run("setfacl", "-m", "u:nobody:---", Path.Combine(_store.DiffPath("acl"), "z/denied"));

        // Readable only through the server's group, and through its ownership: the kernel is asked, and grants.
        Run("chgrp", Nobody, Path.Combine(_store.DiffPath("granted"), "z/group"));
        Run("chmod", "640", Path.Combine(_store.DiffPath("granted"), "z/group"));
        Run("chown", Nobody, Path.Combine(_store.DiffPath("granted"), "z/own"));
        Run("chmod", "400", Path.Combine(_store.DiffPath("granted"), "z/own"));

        // A transport directory's hives are plain files, which the walk does not open as it opens encoded ones.
        WindowsLayerFiles.AddBaseAndApp(_windowsStore.FullName);
        var hives = Path.Combine(_windowsStore.FullName, "app", "Hives");
        File.WriteAllBytes(Path.Combine(hives, "Software_Delta"), Enumerable.Repeat((byte)'h', 1024 * 1024).ToArray());
        File.WriteAllBytes(Path.Combine(hives, "User_Delta"), "root only\n"u8.ToArray());

        // Everything under UtilityVM/ of a transport directory is plain too. The ACL is set after the chmod, which
        // would otherwise rewrite its mask.
        var denied = AddWindowsPlainFile("acldenied", "UtilityVM/Files/denied.dll", "not for nobody\n");
        File.WriteAllBytes(Path.Combine(_windowsStore.FullName, "acldenied", "Hives", "Software_Delta"), Enumerable.Repeat((byte)'h', 1024 * 1024).ToArray());
        var granted = AddWindowsPlainFile("aclgranted", "UtilityVM/Files/granted.dll", "for nobody by ACL\n");
        Run("chmod", "-R", "a+rX", _windowsStore.FullName);
        Run("chmod", "600", Path.Combine(hives, "User_Delta"));
        Run("setfacl", "-m", "u:nobody:---", denied);
        Run("chmod", "600", granted);
        Run("setfacl", "-m", "u:nobody:r--", granted);
    }

    public void Dispose()
    {
        _store.Dispose();
        _windowsStore.Delete(recursive: true);
    }

    public static TheoryData<string, string> Refused => new()
    {
        { "private", "tar" },
        { "private", "tar?compression=gzip" },
        { "acl", "tar" },
    };

    [Theory]
    [MemberData(nameof(Refused))]
    public async Task AFileTheServerMayNotReadIsAProblemBeforeTheBody(string layer, string resource)
    {
        await using var server = StartAsNobody();
        using var client = new HttpClient { BaseAddress = await server.WaitUntilListeningAsync() };

        using var response = await client.GetAsync(new Uri($"/layers/{layer}/{resource}", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:layer-unreadable", problem.GetProperty("type").GetString());
        Assert.Equal(layer == "acl" ? "z/denied: Permission denied" : "z/secret: Permission denied", problem.GetProperty("detail").GetString());
    }

    [Fact]
    public async Task AHeadRequestIsRefusedAsTheDownloadWouldBe()
    {
        await using var server = StartAsNobody();
        using var client = new HttpClient { BaseAddress = await server.WaitUntilListeningAsync() };

        using var response = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("/layers/private/tar", UriKind.Relative)));

        Assert.Equal(HttpStatusCode.InternalServerError, response.StatusCode);
        Assert.Equal(ProblemAssert.MediaType, response.Content.Headers.ContentType?.MediaType);
    }

    [Fact]
    public async Task APlainFileOfAWindowsLayerTheServerMayNotReadIsAProblemBeforeTheBody()
    {
        await using var server = StartAsNobody(_windowsStore.FullName, "windows");
        using var client = new HttpClient { BaseAddress = await server.WaitUntilListeningAsync() };

        using var response = await client.GetAsync(new Uri("/layers/app/tar", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:layer-unreadable", problem.GetProperty("type").GetString());
        Assert.Equal("Hives/User_Delta: Permission denied", problem.GetProperty("detail").GetString());
    }

    // Mode 0644 grants; only the ACL refuses, which the mode bits do not show.
    [Fact]
    public async Task APlainFileOfAWindowsLayerThatAnAclRefusesTheServerIsAProblemBeforeTheBody()
    {
        await using var server = StartAsNobody(_windowsStore.FullName, "windows");
        using var client = new HttpClient { BaseAddress = await server.WaitUntilListeningAsync() };
        var resource = new Uri("/layers/acldenied/tar", UriKind.Relative);

        using var response = await client.GetAsync(resource);
        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, resource));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:layer-unreadable", problem.GetProperty("type").GetString());
        Assert.Equal("UtilityVM/Files/denied.dll: Permission denied", problem.GetProperty("detail").GetString());
        Assert.Equal(HttpStatusCode.InternalServerError, head.StatusCode);
        Assert.Equal(ProblemAssert.MediaType, head.Content.Headers.ContentType?.MediaType);
    }

    // Mode 0600, owned by root: only the ACL's entry for nobody grants it.
    [Fact]
    public async Task APlainFileOfAWindowsLayerThatAnAclGrantsTheServerIsExported()
    {
        await using var server = StartAsNobody(_windowsStore.FullName, "windows");
        using var client = new HttpClient { BaseAddress = await server.WaitUntilListeningAsync() };
        var archive = Path.Combine(_windowsStore.FullName, "aclgranted.tar");

        await File.WriteAllBytesAsync(archive, await client.GetByteArrayAsync(new Uri("/layers/aclgranted/tar", UriKind.Relative)));

        // The Windows records (MSWINDOWS.*, LIBARCHIVE.creationtime) are not GNU tar's: it would warn of each.
        Assert.Equal("for nobody by ACL\n", await GnuTar.ReadMemberAsync(archive, "UtilityVM/Files/granted.dll", "--warning=no-unknown-keyword"));
    }

    [Fact]
    public async Task FilesTheServerReadsThroughItsGroupOrAsTheirOwnerAreExported()
    {
        await using var server = StartAsNobody();
        using var client = new HttpClient { BaseAddress = await server.WaitUntilListeningAsync() };
        var archive = Path.Combine(_store.Root, "granted.tar");

        await File.WriteAllBytesAsync(archive, await client.GetByteArrayAsync(new Uri("/layers/granted/tar", UriKind.Relative)));

        Assert.Equal("by group\n", await GnuTar.ReadMemberAsync(archive, "z/group"));
        Assert.Equal("by owner\n", await GnuTar.ReadMemberAsync(archive, "z/own"));
    }

    private static void Run(string tool, params string[] arguments)
    {
        var result = ProcessRunner.RunAsync(tool, arguments).GetAwaiter().GetResult();
        Assert.True(result.ExitCode == 0, result.Describe());
    }

    // A transport directory on base0 holding one plain file at relativePath; returns the file's path.
    private string AddWindowsPlainFile(string id, string relativePath, string content)
    {
        var layer = WindowsLayerFiles.AddLayer(_windowsStore.FullName, id, @"C:\ProgramData\docker\windowsfilter\base0");
        WindowsLayerFiles.AddTransportFiles(layer, "");
        var file = Path.Combine(layer, relativePath);
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        File.WriteAllText(file, content);
        return file;
    }

    private ServerProcess StartAsNobody() => StartAsNobody(_store.Root, "native");

    private static ServerProcess StartAsNobody(string root, string layout) => ServerProcess.StartUnder(
        ServerProcess.AsNobody,
        AppContext.BaseDirectory,
        new Dictionary<string, string>
        {
            ["LayerStore__Root"] = root,
            ["LayerStore__Layout"] = layout,
            ["LayerStore__AllowUnreadableTrustedXattrs"] = "true",
            ["DigestCache__Directory"] = "",
        },
        "--urls",
        "http://127.0.0.1:0");
}
