using System.Globalization;

namespace LayerExport.Core.Tests.Support;

/// <summary>
/// A new, empty file system mounted on a temp directory: tmpfs, or ext4, xfs or btrfs made on a sparse image file
/// and mounted through a loop device. A missing tool or loop support fails the test; nothing is skipped.
/// </summary>
/// <remarks>A run killed before its clean-up leaves its mounts; the next run's first mount sweeps them.</remarks>
internal sealed class ScratchFileSystem : IAsyncDisposable
{
    /// <summary>The kinds <see cref="MountAsync"/> makes.</summary>
    public static readonly string[] Kinds = ["tmpfs", "ext4", "xfs", "btrfs"];

    /// <summary>One more kind <see cref="MountAsync"/> makes: an ext4 with the <c>encrypt</c> feature, whose directories fscrypt can encrypt.</summary>
    public const string EncryptingExt4 = "ext4-encrypt";

    /// <summary>One more kind: an ext4 of 128-byte inodes, whose timestamps are whole seconds (a "racy clean" file system).</summary>
    public const string SecondsExt4 = "ext4-seconds";

    // Sparse, so it costs only what is written; mkfs.xfs refuses images under 300 MiB.
    private const long ImageBytes = 512L * 1024 * 1024;

    // Each run's directories carry its process ID, so a later run can tell the leftovers of a killed one from a live one's.
    private const string DirectoryPrefix = "layerexport-scratchfs-";

    private static readonly Lazy<Task> Swept = new(SweepLeftoversAsync);

    private readonly TempDirectory _directory = new($"{DirectoryPrefix}{Environment.ProcessId}-");
    private bool _mounted;

    private ScratchFileSystem(string kind) => Kind = kind;

    /// <summary>tmpfs, ext4, xfs, btrfs, <see cref="EncryptingExt4"/> or <see cref="SecondsExt4"/>.</summary>
    public string Kind { get; }

    /// <summary>Where the file system is mounted; its root directory.</summary>
    public string MountPoint => _directory.Combine("mnt");

    private string Image => _directory.Combine("image");

    // The file system type the kind mounts as.
    private string Type => Kind is EncryptingExt4 or SecondsExt4 ? "ext4" : Kind;

    /// <summary>Makes and mounts a file system of <paramref name="kind"/>; checks the mount is of that type.</summary>
    public static async Task<ScratchFileSystem> MountAsync(string kind)
    {
        await Swept.Value;
        var fileSystem = new ScratchFileSystem(kind);
        try
        {
            await fileSystem.MakeAndMountAsync();
            return fileSystem;
        }
        catch
        {
            await fileSystem.DisposeAsync();
            throw;
        }
    }

    /// <summary>Unmounts, detaches the loop device if one is left, and removes the image and the mount point.</summary>
    /// <remarks>When the unmount fails the directory is kept: deleting it would delete into the mounted file system.</remarks>
    public async ValueTask DisposeAsync()
    {
        if (_mounted)
        {
            await ExternalTool.RunCheckedAsync("umount", MountPoint);
            _mounted = false;
        }

        // mount -o loop sets autoclear, so the unmount detaches; a mount that failed half-way may not have.
        if (File.Exists(Image))
        {
            await DetachAsync(Image);
        }

        _directory.Dispose();
    }

    /// <summary>Unmounts, detaches and removes what runs killed before their clean-up left; a live process's are left alone.</summary>
    /// <returns>The directories removed.</returns>
    public static async Task<IReadOnlyList<string>> SweepLeftoversAsync()
    {
        var prefix = Path.Combine(Path.GetTempPath(), DirectoryPrefix);
        var left = Directory.EnumerateDirectories(Path.GetTempPath(), DirectoryPrefix + "*")
            .Where(directory => OwnerOf(directory, prefix) is { } owner && !Directory.Exists($"/proc/{owner}"))
            .ToList();
        foreach (var directory in left)
        {
            var mountPoint = Path.Combine(directory, "mnt");
            while (MountedType(mountPoint) is not null)
            {
                await ExternalTool.RunCheckedAsync("umount", mountPoint);
            }

            var image = Path.Combine(directory, "image");
            if (File.Exists(image))
            {
                await DetachAsync(image);
            }

            Directory.Delete(directory, recursive: true);
        }

        return left;
    }

    private static int? OwnerOf(string directory, string prefix)
    {
        var rest = directory[prefix.Length..];
        var dash = rest.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && int.TryParse(rest[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out var pid) ? pid : null;
    }

    private static async Task DetachAsync(string image)
    {
        var attached = await ExternalTool.RunCheckedAsync(Require("losetup", "mount"), "--noheadings", "--output", "NAME", "--associated", image);
        foreach (var device in attached.StdoutLines.Where(static line => line.Length > 0))
        {
            await ExternalTool.RunCheckedAsync(Require("losetup", "mount"), "--detach", device.Trim());
        }
    }

    private async Task MakeAndMountAsync()
    {
        Directory.CreateDirectory(MountPoint);
        if (Kind == "tmpfs")
        {
            await ExternalTool.RunCheckedAsync("mount", "-t", "tmpfs", "-o", "size=64m,mode=755", "layer-export-test", MountPoint);
        }
        else
        {
            string[] mkfs = Kind switch
            {
                // 256-byte inodes keep nanoseconds and times after 2038 (128-byte ones keep neither).
                "ext4" => [Require("mkfs.ext4", "e2fsprogs"), "-q", "-F", "-I", "256"],
                EncryptingExt4 => [Require("mkfs.ext4", "e2fsprogs"), "-q", "-F", "-I", "256", "-O", "encrypt"],
                SecondsExt4 => [Require("mkfs.ext4", "e2fsprogs"), "-q", "-F", "-I", "128"],

                // bigtime keeps times after 2038.
                "xfs" => [Require("mkfs.xfs", "xfsprogs"), "-q", "-f", "-m", "bigtime=1"],
                "btrfs" => [Require("mkfs.btrfs", "btrfs-progs"), "-q", "-f"],
                _ => throw new ArgumentException($"no such scratch file system kind: {Kind}"),
            };
            Require("losetup", "mount");
            Assert.True(
                File.Exists("/dev/loop-control"),
                $"cannot test {Kind}: there is no /dev/loop-control, so no loop device can hold its image (load the loop module; the tests run as root)");

            using (var image = File.Create(Image))
            {
                image.SetLength(ImageBytes);
            }

            await ExternalTool.RunCheckedAsync(mkfs[0], [.. mkfs[1..], Image]);
            await ExternalTool.RunCheckedAsync("mount", "-t", Type, "-o", "loop", Image, MountPoint);
        }

        _mounted = true;
        var mounted = MountedType(MountPoint);
        Assert.True(mounted == Type, $"{MountPoint} should be {Type} but is mounted as {mounted ?? "nothing"}");
    }

    // The full path of a tool, looked up in PATH and the sbin directories (where the mkfs tools live).
    private static string Require(string tool, string package)
    {
        var directories = (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries)
            .Concat(["/usr/local/sbin", "/usr/sbin", "/sbin"]);
        return directories.Select(directory => Path.Combine(directory, tool)).FirstOrDefault(File.Exists)
            ?? throw new InvalidOperationException(
                $"{tool} is missing: install the Debian package {package} (./test.sh installs it). Every file system must be tested; none is skipped.");
    }

    // The type of the file system mounted last on the directory, as /proc/self/mountinfo says ("<fields> - <type> ...").
    private static string? MountedType(string mountPoint) =>
        File.ReadLines("/proc/self/mountinfo")
            .Select(static line => line.Split(' '))
            .LastOrDefault(fields => fields.Length > 4 && fields[4] == mountPoint) is { } mount
                ? mount[Array.IndexOf(mount, "-") + 1]
                : null;
}
