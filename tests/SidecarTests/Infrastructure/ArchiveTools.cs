using System.Text;
using LayerExport.TestSupport;

namespace SidecarTests.Infrastructure;

/// <summary>gzip, zstd and GNU tar as independent judges of what the server sent.</summary>
internal static class ArchiveTools
{
    /// <summary>Integrity check with the representation's own tool (<c>gzip -t</c>, <c>zstd -t</c>); nothing to check for the plain tar.</summary>
    public static async Task TestIntegrityAsync(Representation representation, string file)
    {
        if (representation == Representation.Gzip)
        {
            (await ExternalTool.RunAsync("gzip", "-t", file)).EnsureSuccess($"gzip -t {file}");
        }
        else if (representation == Representation.Zstd)
        {
            (await ExternalTool.RunAsync("zstd", "-t", "-q", file)).EnsureSuccess($"zstd -t {file}");
        }
    }

    /// <summary>The tar inside <paramref name="file"/>, decompressed by the representation's own tool.</summary>
    public static async Task<byte[]> DecompressAsync(Representation representation, string file)
    {
        if (representation == Representation.Gzip)
        {
            return (await ExternalTool.RunAsync("gzip", "-d", "-c", file)).EnsureSuccess($"gzip -dc {file}").Stdout;
        }

        if (representation == Representation.Zstd)
        {
            return (await ExternalTool.RunAsync("zstd", "-d", "-c", "-q", file)).EnsureSuccess($"zstd -dc {file}").Stdout;
        }

        return await File.ReadAllBytesAsync(file);
    }

    /// <summary>The entry names GNU tar lists; fails if GNU tar reports anything on stderr or exits non-zero.</summary>
    public static async Task<IReadOnlyList<string>> ListWithGnuTarAsync(string tarFile)
    {
        var version = await ExternalTool.RunAsync("tar", "--version");
        Assert.Contains("GNU tar", Encoding.UTF8.GetString(version.Stdout), StringComparison.Ordinal);
        var listing = (await ExternalTool.RunAsync("tar", "-t", "-f", tarFile)).EnsureSuccess($"tar -tf {tarFile}");
        Assert.True(listing.Stderr.Length == 0, $"GNU tar complained while listing {tarFile}: {listing.Stderr}");
        return Encoding.UTF8.GetString(listing.Stdout).Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }
}
