using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Reader;

/// <summary>
/// A name that is something else by the time it is opened or read than what its directory listed was replaced
/// meanwhile: the walk reports a changing layer (retried, then 503), not an unreadable one (500).
/// </summary>
public sealed class ReplacedEntryTests : IDisposable
{
    private static readonly byte[] Name = Encoding.UTF8.GetBytes("entry");

    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData(Libc.DT_REG, "a symlink")]
    [InlineData(Libc.DT_REG, "a directory")]
    [InlineData(Libc.DT_DIR, "a symlink")]
    [InlineData(Libc.DT_DIR, "a regular file")]
    public void ANameListedAsAFileOrDirectoryThatIsNowSomethingElseWasReplaced(byte listedType, string now)
    {
        MakeEntry(now);
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        var device = directory.Stat().Device;
        var listed = new DirectoryEntry(Name, listedType, Inode: 1);

        var error = Record.Exception(() => new DiskEntryReader(openContent: true).Read(directory, listed, Name, device, out _));

        var changed = Assert.IsType<LayerChangedException>(error);
        Assert.Contains("replaced", changed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ANameListedAsASymlinkThatIsNowAFileWasReplaced()
    {
        MakeEntry("a symlink");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        var listed = directory.StatAt(Name);
        File.Delete(_root.Combine("entry"));
        MakeEntry("a regular file");

        var error = Record.Exception(() => DiskEntryReader.Describe(directory, Name, Name, listed));

        Assert.IsType<LayerChangedException>(error);
    }

    // The header comes from the listed symlink's status; a target read from another symlink would make an entry
    // that never was (one's owner and mtime, the other's target).
    [Fact]
    public void ANameListedAsASymlinkThatIsNowAnotherSymlinkWasReplaced()
    {
        MakeEntry("a symlink");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        var listed = directory.StatAt(Name);
        File.CreateSymbolicLink(_root.Combine("other"), "/another/target");
        File.Move(_root.Combine("other"), _root.Combine("entry"), overwrite: true);

        var error = Record.Exception(() => DiskEntryReader.Describe(directory, Name, Name, listed));

        Assert.IsType<LayerChangedException>(error);
    }

    // ext4 gives a symlink made right after another's deletion that one's inode number: only its ctime tells them
    // apart. The listed status is the same inode's with an earlier ctime: deleting and making the symlink again would
    // give it the same ctime wherever the clock does not tick between the two (a kernel stamping in jiffies).
    [Fact]
    public void ASymlinkDeletedAndMadeAgainUnderItsNameWasReplaced()
    {
        MakeEntry("a symlink");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        var listed = Listed(directory.StatAt(Name), ctimeSeconds: -1);

        var error = Record.Exception(() => DiskEntryReader.Describe(directory, Name, Name, listed));

        Assert.IsType<LayerChangedException>(error);
    }

    // On a clock that stamps in ticks a symlink's owner changed, or the symlink made again with another target, within
    // the tick of its listing keeps the ctime: only what the header took (owner) and the target's length tell.
    [Theory]
    [InlineData("owner")]
    [InlineData("group")]
    [InlineData("target length")]
    public void ASymlinkChangedWithinTheTickOfItsListingWasChanged(string change)
    {
        MakeEntry("a symlink");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        var status = directory.StatAt(Name);
        var listed = change switch
        {
            "owner" => Listed(status, uid: 1),
            "group" => Listed(status, gid: 1),
            _ => Listed(status, size: 1),
        };

        var error = Record.Exception(() => DiskEntryReader.Describe(directory, Name, Name, listed));

        Assert.IsType<LayerChangedException>(error);
    }

    // The status the walk listed: the one the name has now, moved by these amounts.
    private static FileStatus Listed(in FileStatus status, long ctimeSeconds = 0, uint uid = 0, uint gid = 0, long size = 0) => new(new StatxBuffer
    {
        Mask = Libc.STATX_BASIC_STATS,
        NLink = status.NLink,
        Uid = status.Uid + uid,
        Gid = status.Gid + gid,
        Mode = (ushort)status.Mode,
        Ino = status.Inode,
        Size = (ulong)(status.Size + size),
        AtimeSec = status.AtimeSeconds,
        AtimeNsec = status.AtimeNanoseconds,
        CtimeSec = status.CtimeSeconds + ctimeSeconds,
        CtimeNsec = status.CtimeNanoseconds,
        MtimeSec = status.MtimeSeconds,
        MtimeNsec = status.MtimeNanoseconds,
        RdevMajor = status.RdevMajor,
        RdevMinor = status.RdevMinor,
        DevMajor = (uint)(status.Device >> 32),
        DevMinor = (uint)status.Device,
    });

    // A rootless store keeps a symlink as a file holding its target; another file renamed over it just before it is
    // opened is not the file whose override made the entry a symlink.
    [Fact]
    public void AFileKeptForASymlinkThatAnotherFileWasRenamedOverBeforeItsTargetIsReadWasReplaced()
    {
        MakeEntry("a regular file");
        Posix.SetXattr(_root.Combine("entry"), "user.containers.override_stat", "0:0:0777:symlink"u8);
        File.WriteAllText(_root.Combine("other"), "/another/target");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        var listed = directory.StatAt(Name);
        var swapped = false;

        var error = Record.Exception(() => SyscallRace.AtOpen(
            () => DiskEntryReader.Describe(directory, Name, Name, listed),
            name =>
            {
                if (name == "entry" && !swapped)
                {
                    File.Move(_root.Combine("other"), _root.Combine("entry"), overwrite: true);
                    swapped = true;
                }
            }));

        Assert.True(swapped, "the file was never opened");
        Assert.Contains("replaced", Assert.IsType<LayerChangedException>(error).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void TheControlAListedSymlinkThatIsStillOneIsDescribed()
    {
        MakeEntry("a symlink");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        var header = DiskEntryReader.Describe(directory, Name, Name, directory.StatAt(Name));

        Assert.Equal("/elsewhere"u8.ToArray(), header!.LinkName);
    }

    [Fact]
    public void ADirectoryRenamedOverTheListedOneWasReplaced()
    {
        Directory.CreateDirectory(_root.Combine("entry"));
        Directory.CreateDirectory(_root.Combine("other"));
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        var listed = directory.StatAt(Name);
        Directory.Delete(_root.Combine("entry"));
        Directory.Move(_root.Combine("other"), _root.Combine("entry"));

        var error = Record.Exception(() => DiskEntryReader.OpenDirectory(directory, Name, listed));

        Assert.Contains("replaced", Assert.IsType<LayerChangedException>(error).Message, StringComparison.Ordinal);
        Assert.Equal([_root.Path], OpenFileDescriptors.Under(_root.Path));
    }

    [Fact]
    public void AFileRenamedOverTheListedOneWasReplaced()
    {
        MakeEntry("a regular file");
        File.WriteAllText(_root.Combine("other"), "another file");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        var listed = directory.StatAt(Name);
        File.Move(_root.Combine("other"), _root.Combine("entry"), overwrite: true);

        var error = Record.Exception(() => new DiskEntryReader(openContent: true).Read(directory, Name, Name, listed, out _));

        Assert.Contains("replaced", Assert.IsType<LayerChangedException>(error).Message, StringComparison.Ordinal);
        Assert.Equal([_root.Path], OpenFileDescriptors.Under(_root.Path));
    }

    // Where a listing's inode is not st_ino (overlayfs without xino), the name is looked at again instead.
    [Fact]
    public void TheControlAFileListedWithAnotherInodeThatIsStillTheSameFileIsRead()
    {
        MakeEntry("a regular file");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        var listed = new DirectoryEntry(Name, Libc.DT_REG, Inode: directory.StatAt(Name).Inode + 1);

        using var entry = new DiskEntryReader(openContent: true).Read(directory, listed, Name, directory.Stat().Device, out _);

        Assert.Equal("entry", entry!.DisplayPath);
    }

    // The second look, taken only where the listing's inode is not st_ino, catches a file renamed over the name
    // after the open: what was opened is then no longer what the name stands for.
    [Fact]
    public void AFileRenamedOverTheNameBetweenItsOpenAndItsSecondLookWasReplaced()
    {
        MakeEntry("a regular file");
        File.WriteAllText(_root.Combine("other"), "another file");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        var listed = new DirectoryEntry(Name, Libc.DT_REG, Inode: directory.StatAt(Name).Inode + 1);
        var device = directory.Stat().Device;
        var renamed = false;

        var error = Record.Exception(() => SyscallRace.AtStatusOfAName(
            () => new DiskEntryReader(openContent: true).Read(directory, listed, Name, device, out _),
            name =>
            {
                if (name == "entry" && !renamed)
                {
                    File.Move(_root.Combine("other"), _root.Combine("entry"), overwrite: true);
                    renamed = true;
                }
            }));

        Assert.True(renamed, "the name was never looked at again");
        Assert.Contains("replaced", Assert.IsType<LayerChangedException>(error).Message, StringComparison.Ordinal);
    }

    // A rootless store keeps a symlink as a file holding its target; a directory put in its place just before that
    // file is opened to read the target is not a symlink's target to read.
    [Fact]
    public void AFileKeptForASymlinkThatIsADirectoryWhenItsTargetIsReadWasReplaced()
    {
        MakeEntry("a regular file");
        Posix.SetXattr(_root.Combine("entry"), "user.containers.override_stat", "0:0:0777:symlink"u8);
        Directory.CreateDirectory(_root.Combine("other"));
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        var listed = directory.StatAt(Name);
        var swapped = false;

        var error = Record.Exception(() => SyscallRace.AtOpen(
            () => DiskEntryReader.Describe(directory, Name, Name, listed),
            name =>
            {
                if (name == "entry" && !swapped)
                {
                    File.Delete(_root.Combine("entry"));
                    Directory.Move(_root.Combine("other"), _root.Combine("entry"));
                    swapped = true;
                }
            }));

        Assert.True(swapped, "the file was never opened");
        Assert.Contains("replaced", Assert.IsType<LayerChangedException>(error).Message, StringComparison.Ordinal);
    }

    private void MakeEntry(string kind)
    {
        var path = _root.Combine("entry");
        if (kind == "a symlink")
        {
            File.CreateSymbolicLink(path, "/elsewhere");
        }
        else if (kind == "a directory")
        {
            Directory.CreateDirectory(path);
        }
        else
        {
            File.WriteAllText(path, "now a file");
        }
    }
}
