using System.Text.Json;
using Xunit.Sdk;

namespace IntegrationTests.Support;

/// <summary>A containers/storage root (vfs driver) made by Buildah: img1 from scratch with one file, img2 adding another.</summary>
internal sealed class BuildahStore : IDisposable
{
    private readonly DirectoryInfo _directory = Directory.CreateTempSubdirectory("buildah-store-");

    private BuildahStore()
    {
    }

    public string Root => Path.Combine(_directory.FullName, "root");

    /// <summary>The committed layers (those with a recorded diff-digest), base first: (ID, parent, diff-digest).</summary>
    public IReadOnlyList<(string Id, string? Parent, string DiffDigest)> CommittedLayers
    {
        get
        {
            using var layers = JsonDocument.Parse(File.ReadAllBytes(Path.Combine(Root, "vfs-layers", "layers.json")));
            return [.. layers.RootElement.EnumerateArray()
                .Where(static l => l.TryGetProperty("diff-digest", out _))
                .Select(static l => (
                    l.GetProperty("id").GetString()!,
                    l.TryGetProperty("parent", out var p) ? p.GetString() : null,
                    l.GetProperty("diff-digest").GetString()!))];
        }
    }

    /// <summary>Builds img1 and img2.</summary>
    /// <param name="bigFileLength">When above zero, img1's layer also holds <c>big.bin</c> of this many bytes (a pattern that does not compress to nothing), and last <c>later.bin</c> of 1 MiB: too large to be read ahead, it is opened only once the export reaches it.</param>
    public static async Task<BuildahStore> CreateAsync(long bigFileLength = 0)
    {
        var store = new BuildahStore();
        try
        {
            var source = Directory.CreateDirectory(Path.Combine(store._directory.FullName, "src")).FullName;
            await File.WriteAllTextAsync(Path.Combine(source, "hello.txt"), "hello from img1\n");
            if (bigFileLength > 0)
            {
                await using var big = File.Create(Path.Combine(source, "big.bin"));
                var block = new byte[1024 * 1024];
                Random.Shared.NextBytes(block);
                for (var left = bigFileLength; left > 0; left -= block.Length)
                {
                    await big.WriteAsync(block.AsMemory(0, (int)Math.Min(left, block.Length)));
                }

                await File.WriteAllBytesAsync(Path.Combine(source, "later.bin"), block);
            }

            var first = await store.BuildahAsync("from", "scratch");
            await store.BuildahAsync("copy", first, source, "/");
            await store.BuildahAsync("commit", first, "img1");

            await File.WriteAllTextAsync(Path.Combine(source, "more.txt"), "added by img2\n");
            var second = await store.BuildahAsync("from", "img1");
            await store.BuildahAsync("copy", second, Path.Combine(source, "more.txt"), "/etc/");
            await store.BuildahAsync("commit", second, "img2");
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    public void Dispose()
    {
        // buildah releases what it holds for the containers and images; the directory goes either way.
        ProcessRunner.RunAsync("buildah", [.. GlobalOptions(), "rm", "--all"]).GetAwaiter().GetResult();
        ProcessRunner.RunAsync("buildah", [.. GlobalOptions(), "rmi", "--all", "--force"]).GetAwaiter().GetResult();
        _directory.Delete(recursive: true);
    }

    /// <summary>Runs buildah on this store; the caller judges the result.</summary>
    public Task<ProcessRunner.Result> RunAsync(params string[] arguments) =>
        ProcessRunner.RunAsync("buildah", [.. GlobalOptions(), .. arguments]);

    private async Task<string> BuildahAsync(params string[] arguments)
    {
        var result = await RunAsync(arguments);
        if (result.ExitCode != 0)
        {
            throw new XunitException($"buildah {string.Join(' ', arguments)} failed: {result.Describe()}");
        }

        return result.StandardOutput.Trim().Split('\n')[^1];
    }

    private string[] GlobalOptions() =>
        ["--root", Root, "--runroot", Path.Combine(_directory.FullName, "run"), "--storage-driver", "vfs"];
}
