using System.Globalization;

namespace LayerExport.Core.Tests.Support;

/// <summary>
/// A read-only overlayfs mount of lower directories only: the kernel's own merged view of a layer chain. A mount
/// that fails fails the test; nothing is skipped.
/// </summary>
/// <remarks>A run killed before its clean-up leaves its mounts; the next run's first mount sweeps them.</remarks>
internal sealed class OverlayMount : IAsyncDisposable
{
    // Each run's directories carry its process ID, so a later run can tell the leftovers of a killed one from a live one's.
    private const string DirectoryPrefix = "layerexport-overlay-";

    private static readonly Lazy<Task> Swept = new(SweepLeftoversAsync);

    private readonly TempDirectory _directory = new($"{DirectoryPrefix}{Environment.ProcessId}-");
    private bool _mounted;

    private OverlayMount()
    {
    }

    /// <summary>Where the merged view is mounted.</summary>
    public string MountPoint => _directory.Combine("mnt");

    /// <summary>
    /// Mounts <paramref name="lowerDirectories"/> (the topmost first), read-only, or writable into
    /// <paramref name="upper"/>'s directory (its work directory on the same file system); with
    /// <paramref name="userXattrs"/> overlayfs keeps its marks in <c>user.overlay.*</c> instead of <c>trusted.overlay.*</c>.
    /// </summary>
    public static async Task<OverlayMount> MountAsync(IReadOnlyList<string> lowerDirectories, bool userXattrs, (string Directory, string Work)? upper = null)
    {
        await Swept.Value;
        var mount = new OverlayMount();
        try
        {
            // Without an upper directory overlayfs wants two lower ones: an empty one at the bottom changes nothing.
            var empty = mount._directory.Combine("empty");
            Directory.CreateDirectory(empty);
            Directory.CreateDirectory(mount.MountPoint);
            var options = $"{(userXattrs ? "userxattr," : "")}lowerdir={string.Join(':', [.. lowerDirectories, empty])}";
            options += upper is var (directory, work)
                // An upper directory must hold its files whole to be a layer: no redirects, no metadata-only copies (userxattr allows neither).
                ? $",upperdir={directory},workdir={work}{(userXattrs ? "" : ",redirect_dir=off,metacopy=off,index=off")}"
                : ",ro";
            var result = await ExternalTool.RunAsync("mount", "-t", "overlay", "-o", options, "layer-export-oracle", mount.MountPoint);
            Assert.True(
                result.ExitCode == 0,
                $"overlayfs is this test's oracle and could not be mounted ({result.CommandLine}: {result.Stderr.Trim()}); "
                + "the tests run as root on a kernel with overlay support, and this test is not skipped without them");
            mount._mounted = true;
            return mount;
        }
        catch
        {
            await mount.DisposeAsync();
            throw;
        }
    }

    /// <summary>Unmounts and removes the mount point; when even a lazy unmount fails the directory is kept for the next run's sweep.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_mounted)
        {
            // Another process on the machine walking /tmp can hold the view for a moment (seen once: "target is busy");
            // a lazy unmount detaches it at once, so the directory can go, and the kernel frees it when it is let go.
            if ((await ExternalTool.RunAsync("umount", MountPoint)).ExitCode != 0)
            {
                await ExternalTool.RunCheckedAsync("umount", "--lazy", MountPoint);
            }

            _mounted = false;
        }

        _directory.Dispose();
    }

    private static async Task SweepLeftoversAsync()
    {
        var prefix = Path.Combine(Path.GetTempPath(), DirectoryPrefix);
        foreach (var directory in Directory.EnumerateDirectories(Path.GetTempPath(), DirectoryPrefix + "*"))
        {
            var rest = directory[prefix.Length..];
            var dash = rest.IndexOf('-', StringComparison.Ordinal);
            if (dash <= 0 || !int.TryParse(rest[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) || Directory.Exists($"/proc/{pid}"))
            {
                continue;
            }

            var mountPoint = Path.Combine(directory, "mnt");
            while (File.ReadLines("/proc/self/mountinfo").Any(line => line.Split(' ') is { Length: > 4 } fields && fields[4] == mountPoint))
            {
                await ExternalTool.RunCheckedAsync("umount", mountPoint);
            }

            Directory.Delete(directory, recursive: true);
        }
    }
}
