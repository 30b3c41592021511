using System.Security.Cryptography;
using System.Text.Json;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>
/// <c>bench/make-layers.py</c>, the generator of issue 6's benchmark shapes: a seed fixes the bytes of every layer it
/// writes, its two on-disk forms of deletions are one changeset, and <c>mixed</c> holds every kind of entry the issue
/// names. Each layer is judged by what the server exports from it, and <c>mixed</c>'s entries by Python's tarfile.
/// </summary>
public sealed class BenchLayerGeneratorTests : IDisposable
{
    private const string AllShapes = "small-files,large-files,mixed";
    private const int Seed = 7;

    // Counts of a tar's entries and of a tree's overlay deletion marks, by Python (tarfile, os): readers we did not write.
    private const string CountScript = """
        import json, os, stat, sys, tarfile

        def opaque(path):
            try:
                return os.getxattr(path, "trusted.overlay.opaque", follow_symlinks=False) == b"y"
            except OSError:
                return False

        counts = {"hardLinks": 0, "symlinks": 0, "whiteouts": 0, "opaqueMarks": 0, "whiteoutDevices": 0, "opaqueDirectories": 0}
        with tarfile.open(sys.argv[1], mode="r:") as archive:
            for member in archive:
                base = member.name.rstrip("/").rsplit("/", 1)[-1]
                counts["hardLinks"] += member.islnk()
                counts["symlinks"] += member.issym()
                counts["opaqueMarks"] += base == ".wh..wh..opq"
                counts["whiteouts"] += base.startswith(".wh.") and base != ".wh..wh..opq"
        for directory, subdirectories, files in os.walk(sys.argv[2]):
            counts["opaqueDirectories"] += opaque(directory)
            for name in files:
                status = os.lstat(os.path.join(directory, name))
                counts["whiteoutDevices"] += stat.S_ISCHR(status.st_mode) and status.st_rdev == 0
        json.dump(counts, sys.stdout)
        """;

    private readonly DirectoryInfo _work = Directory.CreateTempSubdirectory("make-layers-");

    public void Dispose() => _work.Delete(recursive: true);

    [Fact]
    public async Task TheSameSeedWritesLayersThatExportToTheSameBytesAndAnotherSeedToOthers()
    {
        var first = await GenerateAsync("first", Seed, "overlay", AllShapes);
        var again = await GenerateAsync("again", Seed, "overlay", AllShapes);
        var other = await GenerateAsync("other", Seed + 1, "overlay", "small-files,large-files");

        var firstDigests = Digests(await ExportAsync(first, AllShapes));
        var againDigests = Digests(await ExportAsync(again, AllShapes));
        var otherDigests = Digests(await ExportAsync(other, "small-files,large-files"));

        Assert.Equal(firstDigests, againDigests);
        Assert.NotEqual(firstDigests["small-files"], otherDigests["small-files"]);
        Assert.NotEqual(firstDigests["large-files"], otherDigests["large-files"]);
    }

    [Fact]
    public async Task MixedHasHardLinksSymlinksWhiteoutsAndOpaqueDirectoriesAndBothDeletionFormsExportAlike()
    {
        var overlay = await GenerateAsync("overlay", Seed, "overlay", "mixed");
        var oci = await GenerateAsync("oci", Seed, "oci", "mixed");
        var exported = await ExportAsync(overlay, "mixed");
        var tar = Path.Combine(_work.FullName, "mixed.tar");
        await File.WriteAllBytesAsync(tar, exported["mixed"]);

        var counted = await RunPythonAsync("-c", CountScript, tar, Path.Combine(overlay, "mixed", "diff"));
        var counts = JsonSerializer.Deserialize<Dictionary<string, int>>(counted) ?? throw new InvalidOperationException("python3 printed no counts");

        // The source tree adds hard links and symlinks of its own to the generator's 200 of each.
        Assert.True(counts["hardLinks"] >= 200, $"{counts["hardLinks"]} hard links");
        Assert.True(counts["symlinks"] >= 200, $"{counts["symlinks"]} symlinks");
        Assert.Equal(300, counts["whiteouts"]);
        Assert.Equal(5, counts["opaqueMarks"]);
        Assert.Equal(300, counts["whiteoutDevices"]);
        Assert.Equal(5, counts["opaqueDirectories"]);
        Assert.Equal(Digests(exported), Digests(await ExportAsync(oci, "mixed")));
    }

    private async Task<string> GenerateAsync(string name, int seed, string format, string shapes)
    {
        var store = Path.Combine(_work.FullName, name);
        await RunPythonAsync(
            Path.Combine(AppContext.BaseDirectory, "bench", "make-layers.py"),
            "--out", store,
            "--seed", seed.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "--format", format,
            "--shapes", shapes,
            "--scale", "0.002");
        return store;
    }

    private static async Task<string> RunPythonAsync(params string[] arguments)
    {
        var result = await ProcessRunner.RunAsync("python3", arguments);
        Assert.True(result.ExitCode == 0, $"python3 {arguments[0]} failed: {result.Describe()}");
        return result.StandardOutput;
    }

    private static async Task<Dictionary<string, byte[]>> ExportAsync(string store, string shapes)
    {
        await using var server = ApiServer.Start(store);
        using var client = server.CreateClient();
        var tars = new Dictionary<string, byte[]>();
        foreach (var shape in shapes.Split(','))
        {
            tars[shape] = await client.GetByteArrayAsync(new Uri($"/layers/{shape}/tar", UriKind.Relative));
        }

        return tars;
    }

    private static Dictionary<string, string> Digests(Dictionary<string, byte[]> tars) =>
        tars.ToDictionary(tar => tar.Key, tar => Convert.ToHexStringLower(SHA256.HashData(tar.Value)));
}
