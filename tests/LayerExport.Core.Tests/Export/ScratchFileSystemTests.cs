using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>A test run killed with its file systems mounted leaves nothing that later runs keep.</summary>
[Collection(SerialTests.Name)]
public sealed class ScratchFileSystemTests
{
    // Above any pid_max Linux allows (2^22), so no process can have it.
    private const int DeadProcessId = 2_000_000_000;

    [Fact]
    public async Task AKilledRunsMountIsSweptAndALiveRunsIsNot()
    {
        var killed = await MountLeftoverAsync(DeadProcessId);
        var live = await MountLeftoverAsync(Environment.ProcessId);
        try
        {
            var swept = await ScratchFileSystem.SweepLeftoversAsync();

            Assert.Contains(killed, swept);
            Assert.DoesNotContain(live, swept);
            Assert.False(Directory.Exists(killed));
            Assert.Equal(0, (await ExternalTool.RunAsync("mountpoint", "-q", Path.Combine(live, "mnt"))).ExitCode);
        }
        finally
        {
            await ExternalTool.RunAsync("umount", Path.Combine(killed, "mnt"));
            await ExternalTool.RunCheckedAsync("umount", Path.Combine(live, "mnt"));
            Directory.Delete(live, recursive: true);
        }
    }

    // A directory named as ScratchFileSystem names its own, with a tmpfs mounted where it mounts.
    private static async Task<string> MountLeftoverAsync(int owner)
    {
        var directory = Path.Combine(Path.GetTempPath(), $"layerexport-scratchfs-{owner}-{Guid.NewGuid():N}");
        var mountPoint = Directory.CreateDirectory(Path.Combine(directory, "mnt")).FullName;
        await ExternalTool.RunCheckedAsync("mount", "-t", "tmpfs", "-o", "size=1m", "layer-export-test", mountPoint);
        await File.WriteAllTextAsync(Path.Combine(mountPoint, "kept"), "a file on the mounted file system");
        return directory;
    }
}
