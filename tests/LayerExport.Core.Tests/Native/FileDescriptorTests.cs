using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Native;

/// <summary>What the descriptor's calls return at the edges of the buffers they start with, and what they open.</summary>
public sealed class FileDescriptorTests : IDisposable
{
    private const int BadDescriptor = 9;
    private const int NotADirectory = 20;
    private const int IsADirectory = 21;
    private const int NameTooLong = 36;

    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    // The writer is woken by the plain open, which shows the check sees an open; the regular-file open leaves it waiting.
    [Fact]
    public void ARegularFileOpenLooksAtAFifoWithoutOpeningIt()
    {
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        using (var writer = WaitingFifoWriter.Start(_root.Combine("fifo")))
        {
            Assert.Null(directory.OpenRegularFileAt("fifo"u8, out var status));
            Assert.Equal(Libc.S_IFIFO, status.Type);
            Assert.True(writer.IsWaiting, "the FIFO was opened");

            directory.OpenFileAt("fifo"u8).Dispose();
            Assert.False(writer.IsWaiting, "a plain open did not wake the writer");
        }

        File.WriteAllText(_root.Combine("file"), "content");
        using var file = directory.OpenRegularFileAt("file"u8, out var fileStatus);
        Assert.NotNull(file);
        Assert.Equal(7, fileStatus.Size);
    }

    [Theory]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(1024)]
    [InlineData(1500)]
    public void ALinkTargetIsReadWholeWhateverItsLength(int length)
    {
        // The first read has room for 256 bytes; a target that fills it may have been cut short.
        var target = string.Concat(Enumerable.Range(0, length).Select(static i => (char)('a' + (i % 26))));
        File.CreateSymbolicLink(_root.Combine("link"), target);
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        Assert.Equal(target, Encoding.UTF8.GetString(directory.ReadLinkAt("link"u8)));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(257)]
    [InlineData(1025)]
    [InlineData(2000)]
    public void AnXattrValueIsReadWholeWhateverItsLength(int length)
    {
        var value = Enumerable.Range(0, length).Select(static i => (byte)(i * 7)).ToArray();
        File.WriteAllText(_root.Combine("file"), "content");
        Posix.SetXattr(_root.Combine("file"), "user.value", value);
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        using var file = directory.OpenFileAt("file"u8);

        Assert.Equal(value, directory.GetXattrAt("file"u8, "user.value"u8));
        Assert.Equal(value, file.GetXattr("user.value"u8));
    }

    [Fact]
    public void AnXattrThatIsNotSetIsNull()
    {
        File.WriteAllText(_root.Combine("file"), "content");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        using var file = directory.OpenFileAt("file"u8);

        Assert.Null(directory.GetXattrAt("file"u8, "user.missing"u8));
        Assert.Null(file.GetXattr("user.missing"u8));
    }

    [Fact]
    public void XattrNamesLongerTogetherThanTheFirstBufferAreAllListed()
    {
        // 24 names of 60 bytes and more: past the 1 KiB the first listing has room for.
        var names = Enumerable.Range(0, 24).Select(static i => $"user.{i:D2}" + new string('x', 55)).ToList();
        File.WriteAllText(_root.Combine("file"), "content");
        foreach (var name in names)
        {
            Posix.SetXattr(_root.Combine("file"), name, "v"u8);
        }

        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        using var file = directory.OpenFileAt("file"u8);

        Assert.Equal(names, directory.ListXattrsAt("file"u8).Select(Encoding.UTF8.GetString).Order());
        Assert.Equal(names, file.ListXattrs().Select(Encoding.UTF8.GetString).Order());
    }

    [Fact]
    public void AFileWithoutXattrsListsNone()
    {
        File.WriteAllText(_root.Combine("file"), "content");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        using var file = directory.OpenFileAt("file"u8);

        Assert.Empty(directory.ListXattrsAt("file"u8));
        Assert.Empty(file.ListXattrs());
    }

    [Fact]
    public void AFileCreatedWrittenAndRenamedHoldsEveryByteUnderItsNewName()
    {
        var content = Enumerable.Range(0, 3 << 20).Select(static i => (byte)(i * 31)).ToArray();
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        Assert.True(directory.TryCreateDirectoryAt("sub"u8, 0b111_000_000));
        Assert.False(directory.TryCreateDirectoryAt("sub"u8, 0b111_000_000));
        using var sub = directory.OpenDirectoryAt("sub"u8);
        using (var file = sub.CreateNewFileAt("new.tmp"u8, 0b110_000_000))
        {
            file.WriteAll(content);
        }

        sub.RenameAt("new.tmp"u8, "final"u8);

        Assert.Equal(content, File.ReadAllBytes(_root.Combine("sub/final")));
        Assert.False(File.Exists(_root.Combine("sub/new.tmp")));
    }

    [Fact]
    public void ANewFileIsNotCreatedWhereAnyNameStands()
    {
        File.WriteAllText(_root.Combine("file"), "kept");
        File.CreateSymbolicLink(_root.Combine("link"), _root.Combine("absent"));
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        Assert.Equal(Libc.EEXIST, Assert.Throws<NativeIOException>(() => directory.CreateNewFileAt("file"u8, 0b110_000_000)).Errno);
        Assert.Equal(Libc.EEXIST, Assert.Throws<NativeIOException>(() => directory.CreateNewFileAt("link"u8, 0b110_000_000)).Errno);
        Assert.False(File.Exists(_root.Combine("absent")));
        Assert.Equal("kept", File.ReadAllText(_root.Combine("file")));
    }

    [Fact]
    public void ARenameOfANameThatIsGoneFails()
    {
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        var error = Assert.Throws<NativeIOException>(() => directory.RenameAt("gone"u8, "final"u8));

        Assert.True(error.IsNotFound);
        Assert.Equal("gone", error.Name);
    }

    [Fact]
    public void UnlinkRemovesAFileAndTakesANameAlreadyGoneQuietly()
    {
        File.WriteAllText(_root.Combine("file"), "content");
        Directory.CreateDirectory(_root.Combine("dir"));
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        directory.UnlinkAt("file"u8);
        directory.UnlinkAt("file"u8);

        Assert.False(File.Exists(_root.Combine("file")));
        Assert.Equal(IsADirectory, Assert.Throws<NativeIOException>(() => directory.UnlinkAt("dir"u8)).Errno);
    }

    [Fact]
    public void TryOpenDirectoryAtIsFalseOnlyForANameThatDoesNotExist()
    {
        Directory.CreateDirectory(_root.Combine("dir"));
        File.WriteAllText(_root.Combine("file"), "content");
        File.CreateSymbolicLink(_root.Combine("link"), _root.Combine("dir"));
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        Assert.False(directory.TryOpenDirectoryAt("absent"u8, out var absent));
        Assert.Null(absent);
        Assert.True(directory.TryOpenDirectoryAt("dir"u8, out var opened));
        using (opened)
        {
            Assert.True(opened!.Stat().IsSameFile(directory.StatAt("dir"u8)));
        }

        Assert.True(Assert.Throws<NativeIOException>(() => directory.TryOpenDirectoryAt("link"u8, out _)).IsSymlinkRefused);
        Assert.True(Assert.Throws<NativeIOException>(() => directory.TryOpenDirectoryAt("file"u8, out _)).IsSymlinkRefused);
    }

    [Fact]
    public void AListingOfADirectoryTooLargeForOneReadHoldsEveryNameOnceEachTime()
    {
        // About 100 bytes a record: more than the 64 KiB one getdents64 call fills.
        var names = Enumerable.Range(0, 1500).Select(static i => $"{i:D4}" + new string('n', 70)).ToList();
        foreach (var name in names)
        {
            File.WriteAllText(_root.Combine(name), string.Empty);
        }

        Directory.CreateDirectory(_root.Combine("dir"));
        names.Add("dir");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        for (var listing = 0; listing < 2; listing++)
        {
            var entries = directory.ReadDirectory();
            Assert.Equal(names.Order(StringComparer.Ordinal), entries.Select(static e => Encoding.UTF8.GetString(e.Name)).Order(StringComparer.Ordinal));
            var dir = Assert.Single(entries, static e => e.Name.AsSpan().SequenceEqual("dir"u8));
            Assert.Equal(4, dir.Type);
            Assert.Equal(directory.StatAt("dir"u8).Inode, dir.Inode);
            Assert.All(entries.Where(static e => e.Type != 4), static e => Assert.Equal(8, e.Type));
        }
    }

    [Theory]
    [InlineData(255)]
    [InlineData(256)]
    [InlineData(300)]
    public void ADirectoryIsFoundInRootByAPathAsLongAsTheNameBufferOrLonger(int length)
    {
        // The name buffer holds 256 bytes, the last of them for the terminating NUL.
        var path = string.Join('/', Enumerable.Range(0, 20).Select(static i => $"d{i:D2}-{new string('x', 6)}"));
        path += "/" + new string('z', length - path.Length - 1);
        Directory.CreateDirectory(_root.Combine(path));
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        using var found = directory.TryOpenDirectoryInRoot(Encoding.UTF8.GetBytes(path));

        Assert.Equal(length, Encoding.UTF8.GetByteCount(path));
        Assert.NotNull(found);
        Assert.True(found.Stat().IsSameFile(FileStatusOf(_root.Combine(path))));
    }

    [Fact]
    public void ASymlinkToTheRootResolvesInsideTheDirectoryNotOutside()
    {
        Directory.CreateDirectory(_root.Combine("layer/etc"));
        File.CreateSymbolicLink(_root.Combine("layer/up"), "/");
        File.CreateSymbolicLink(_root.Combine("layer/dotdot"), "../../..");
        using var layer = FileDescriptor.OpenDirectory(_root.Combine("layer"));

        using var up = layer.TryOpenDirectoryInRoot("up/etc"u8);
        using var dotdot = layer.TryOpenDirectoryInRoot("dotdot/etc"u8);

        Assert.True(up!.Stat().IsSameFile(layer.StatAt("etc"u8)));
        Assert.True(dotdot!.Stat().IsSameFile(layer.StatAt("etc"u8)));
    }

    [Fact]
    public async Task ADirectoryReachedThroughAMountPointIsRefusedInRoot()
    {
        // A file system mounted inside the layer is not part of it, even where a path leads through it.
        Directory.CreateDirectory(_root.Combine("layer/mnt"));
        var mountPoint = _root.Combine("layer/mnt");
        await ExternalTool.RunCheckedAsync("mount", "-t", "tmpfs", "-o", "size=1m", "layer-export-test", mountPoint);
        try
        {
            Directory.CreateDirectory(Path.Combine(mountPoint, "inside"));
            using var layer = FileDescriptor.OpenDirectory(_root.Combine("layer"));

            Assert.Equal(Libc.EXDEV, Assert.Throws<NativeIOException>(() => layer.TryOpenDirectoryInRoot("mnt/inside"u8)).Errno);
        }
        finally
        {
            await ExternalTool.RunCheckedAsync("umount", mountPoint);
        }
    }

    [Fact]
    public void ADirectoryThatKeepsBeingRacedInRootIsLeftToTheSlowerWay()
    {
        Directory.CreateDirectory(_root.Combine("dir"));
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        Assert.Null(OnThreadFailing(Posix.Openat2SyscallNumber, Libc.EAGAIN, () => directory.TryOpenDirectoryInRoot("dir"u8)));
        Assert.Null(OnThreadFailing(Posix.Openat2SyscallNumber, Libc.EPERM, () => directory.TryOpenDirectoryInRoot("dir"u8)));
        Assert.Null(OnThreadFailing(Posix.Openat2SyscallNumber, Libc.ENOSYS, () => directory.TryOpenDirectoryInRoot("dir"u8)));
        Assert.Equal(Libc.EIO, Assert.Throws<NativeIOException>(() => OnThreadFailing(Posix.Openat2SyscallNumber, Libc.EIO, () => directory.TryOpenDirectoryInRoot("dir"u8))).Errno);
    }

    [Fact]
    public void AFileTheKernelWillNotOpenWithoutAccessTimeIsOpenedAllTheSame()
    {
        // O_NOATIME is refused (EPERM) on a file of another user without CAP_FOWNER; the read must go on.
        File.WriteAllText(_root.Combine("file"), "content");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        var content = OwnThread.Run(
            () =>
            {
                Posix.RefuseNoAccessTimeOpensOnThisThread();
                using var file = directory.OpenFileKeepingAccessTimeAt("file"u8);
                var buffer = new byte[16];
                return Encoding.UTF8.GetString(buffer, 0, file.ReadAt(buffer, 0));
            });

        Assert.Equal("content", content);
    }

    [Fact]
    public void AFileOpenedKeepingItsAccessTimeDoesNotMoveIt()
    {
        File.WriteAllText(_root.Combine("file"), "content");
        Posix.SetTimes(_root.Combine("file"), 1_000_000, 5, 2_000_000, 7);
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        using (var file = directory.OpenFileKeepingAccessTimeAt("file"u8))
        {
            Assert.Equal(7, file.ReadAt(new byte[16], 0));
        }

        var status = directory.StatAt("file"u8);
        Assert.Equal(1_000_000, status.AtimeSeconds);
        Assert.Equal(5u, status.AtimeNanoseconds);
    }

    [Fact]
    public void OnlyADirectoryIsOpenedAsOne()
    {
        File.WriteAllText(_root.Combine("file"), "content");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        Assert.Equal(NotADirectory, Assert.Throws<NativeIOException>(() => FileDescriptor.OpenDirectory(_root.Combine("file"))).Errno);
        Assert.True(Assert.Throws<NativeIOException>(() => FileDescriptor.OpenDirectory(_root.Combine("absent"))).IsNotFound);
        Assert.Equal(NotADirectory, Assert.Throws<NativeIOException>(() => directory.OpenDirectoryAt("file"u8)).Errno);
        Assert.Equal(NotADirectory, Assert.Throws<NativeIOException>(() => directory.TryOpenDirectoryInRoot("file"u8)).Errno);
    }

    [Fact]
    public void AFileOpenedKeepingItsAccessTimeIsNeverASymlinksTarget()
    {
        File.WriteAllText(_root.Combine("file"), "content");
        File.CreateSymbolicLink(_root.Combine("link"), _root.Combine("file"));
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        Assert.True(Assert.Throws<NativeIOException>(() => directory.OpenFileKeepingAccessTimeAt("link"u8)).IsSymlinkRefused);
        Assert.True(Assert.Throws<NativeIOException>(() => directory.OpenFileKeepingAccessTimeAt("absent"u8)).IsNotFound);
    }

    [Fact]
    public void ADirectoryThatCannotBeCreatedIsAnError()
    {
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        var error = Assert.Throws<NativeIOException>(() => directory.TryCreateDirectoryAt(Encoding.ASCII.GetBytes(new string('n', 300)), 0b111_000_000));

        Assert.Equal(NameTooLong, error.Errno);
    }

    [Fact]
    public void AFailedWriteIsAnError()
    {
        File.WriteAllText(_root.Combine("file"), "content");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        using var readOnly = directory.OpenFileAt("file"u8);

        Assert.Equal(BadDescriptor, Assert.Throws<NativeIOException>(() => readOnly.WriteAll("more"u8)).Errno);
        Assert.Equal("content", File.ReadAllText(_root.Combine("file")));
    }

    [Fact]
    public void AFailedReadIsAnError()
    {
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        Assert.Equal(IsADirectory, Assert.Throws<NativeIOException>(() => directory.ReadAt(new byte[16], 0)).Errno);
    }

    [Fact]
    public void AFailedStatusIsAnErrorNotAStatusOfZeros()
    {
        File.WriteAllText(_root.Combine("file"), "content");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        Assert.True(Assert.Throws<NativeIOException>(() => directory.StatAt("absent"u8)).IsNotFound);
        Assert.Equal(Libc.EIO, Assert.Throws<NativeIOException>(() => OnThreadFailing(Posix.StatxSyscallNumber, Libc.EIO, directory.Stat)).Errno);
        Assert.Equal(Libc.EIO, Assert.Throws<NativeIOException>(() => OnThreadFailing(Posix.StatxSyscallNumber, Libc.EIO, () => directory.StatAt("file"u8))).Errno);
    }

    [Fact]
    public void AFileSystemWithoutXattrsListsNoneAndAFailedListingIsAnError()
    {
        File.WriteAllText(_root.Combine("file"), "content");
        Posix.SetXattr(_root.Combine("file"), "user.kept", "v"u8);
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        using var file = directory.OpenFileAt("file"u8);

        Assert.Empty(OnThreadFailing(Posix.FlistxattrSyscallNumber, Libc.EOPNOTSUPP, file.ListXattrs));
        Assert.Empty(OnThreadFailing(Posix.ListxattratSyscallNumber, Libc.EOPNOTSUPP, () => directory.ListXattrsAt("file"u8)));
        var own = Assert.Throws<NativeIOException>(() => OnThreadFailing(Posix.FlistxattrSyscallNumber, Libc.EIO, file.ListXattrs));
        var child = Assert.Throws<NativeIOException>(() => OnThreadFailing(Posix.ListxattratSyscallNumber, Libc.EIO, () => directory.ListXattrsAt("file"u8)));

        Assert.Equal((Libc.EIO, "(xattr list)"), (own.Errno, own.Name));
        Assert.Equal((Libc.EIO, "file"), (child.Errno, child.Name));
    }

    private static FileStatus FileStatusOf(string path)
    {
        using var opened = FileDescriptor.OpenDirectory(path);
        return opened.Stat();
    }

    private static T OnThreadFailing<T>(uint syscallNumber, int errno, Func<T> body) =>
        OwnThread.Run(() =>
        {
            Posix.FailOnThisThread(syscallNumber, errno);
            return body();
        });
}
