using LayerExport.Core.Native;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Native;

/// <summary>A file's status says what the kernel says, and tells one file, one mount and one state of a file from another.</summary>
public sealed class FileStatusTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public void EveryFieldIsTheKernels()
    {
        var path = _root.Combine("file");
        File.WriteAllText(path, "twelve bytes");
        Posix.HardLink(path, _root.Combine("second"));
        Posix.ChangeOwner(path, 1234, 5678);
        Posix.ChangeMode(path, Convert.ToInt32("4640", 8));
        Posix.SetTimes(path, 1_600_000_000, 123_456_789, 1_500_000_000, 987_654_321);
        var expected = Posix.Stat(path);
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        using var file = directory.OpenFileAt("file"u8);

        foreach (var status in new[] { directory.StatAt("file"u8), file.Stat() })
        {
            Assert.Equal(Convert.ToInt32("104640", 8), status.Mode);
            Assert.Equal(Convert.ToInt32("100000", 8), status.Type);
            Assert.Equal(2u, status.NLink);
            Assert.Equal(1234u, status.Uid);
            Assert.Equal(5678u, status.Gid);
            Assert.Equal(12, status.Size);
            Assert.Equal(expected.Inode, status.Inode);
            Assert.Equal(expected.Device, status.Device);
            Assert.NotEqual(0u, status.Device);
            Assert.Equal(1_500_000_000, status.MtimeSeconds);
            Assert.Equal(987_654_321u, status.MtimeNanoseconds);
            Assert.Equal(1_600_000_000, status.AtimeSeconds);
            Assert.Equal(123_456_789u, status.AtimeNanoseconds);
            Assert.False(status.IsMountRoot);
            Assert.NotNull(status.MountId);
        }
    }

    [Fact]
    public void TheStatusChangeTimeIsTheLastChangeOfTheFile()
    {
        var path = _root.Combine("file");
        File.WriteAllText(path, "content");
        var before = DateTimeOffset.UtcNow.ToUnixTimeSeconds() - 1;
        Posix.ChangeMode(path, Convert.ToInt32("600", 8));
        var after = DateTimeOffset.UtcNow.ToUnixTimeSeconds() + 1;
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        var status = directory.StatAt("file"u8);

        Assert.InRange(status.CtimeSeconds, before, after);
        Assert.Equal($"{status.Device}:{status.Inode}:7:{status.MtimeSeconds}.{status.MtimeNanoseconds:D9}:{status.CtimeSeconds}.{status.CtimeNanoseconds:D9}", status.Identity);
    }

    [Fact]
    public void TheIdentityWritesNanosecondsWithNineDigits()
    {
        var path = _root.Combine("file");
        File.WriteAllText(path, "content");
        Posix.SetTimes(path, 0, 0, 1_500_000_000, 42);
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        var status = directory.StatAt("file"u8);

        Assert.StartsWith($"{status.Device}:{status.Inode}:7:1500000000.000000042:", status.Identity, StringComparison.Ordinal);
        Assert.Matches(@":\d+\.\d{9}$", status.Identity);
    }

    [Fact]
    public void ADeviceNodeGivesItsMajorAndMinor()
    {
        Posix.MakeNode(_root.Combine("node"), Posix.CharacterDeviceType | Convert.ToInt32("600", 8), 4000, 300_000);
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        var status = directory.StatAt("node"u8);

        Assert.Equal(Posix.CharacterDeviceType, status.Type);
        Assert.Equal(4000u, status.RdevMajor);
        Assert.Equal(300_000u, status.RdevMinor);
    }

    [Fact]
    public void TwoFilesAreTheSameFileOnlyWhenTheyAreOneInode()
    {
        File.WriteAllText(_root.Combine("one"), "content");
        File.WriteAllText(_root.Combine("other"), "content");
        Posix.HardLink(_root.Combine("one"), _root.Combine("link"));
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        var one = directory.StatAt("one"u8);

        Assert.True(one.IsSameFile(directory.StatAt("link"u8)));
        Assert.False(one.IsSameFile(directory.StatAt("other"u8)));
    }

    [Fact]
    public async Task AMountPointIsAMountRootOnAnotherMount()
    {
        var mountPoint = _root.Combine("mnt");
        Directory.CreateDirectory(mountPoint);
        await ExternalTool.RunCheckedAsync("mount", "-t", "tmpfs", "-o", "size=1m", "layer-export-test", mountPoint);
        try
        {
            Directory.CreateDirectory(Path.Combine(mountPoint, "inside"));
            using var directory = FileDescriptor.OpenDirectory(_root.Path);
            using var mounted = directory.OpenDirectoryAt("mnt"u8);

            var root = mounted.Stat();
            var inside = mounted.StatAt("inside"u8);

            Assert.True(root.IsMountRoot);
            Assert.False(inside.IsMountRoot);
            Assert.Equal(root.MountId, inside.MountId);
            Assert.NotEqual(directory.Stat().MountId, root.MountId);
            Assert.NotEqual(directory.Stat().Device, root.Device);
        }
        finally
        {
            await ExternalTool.RunCheckedAsync("umount", mountPoint);
        }
    }
}
