using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Reader;

/// <summary>The metadata walk asks whether each regular file can be read: the mode bits where they settle it, the kernel otherwise.</summary>
public sealed class ReadPermissionTests : IDisposable
{
    private const uint Root = 0;
    private const uint Other = 1234;

    private const uint Nobody = 65534;

    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Theory]
    [InlineData(0x1A4, Root, Root, true)] // 0644, own file
    [InlineData(0x100, Root, Root, true)] // 0400: the owner bit is enough for the owner
    [InlineData(0x024, Root, Root, false)] // 0044: the owner is judged by the owner bits, which refuse
    [InlineData(0x1A4, Other, Root, true)] // 0644: group and other both allow
    [InlineData(0x180, Other, Root, false)] // 0600: another's private file
    [InlineData(0x1A0, Other, Root, false)] // 0640: only if in the group, which the bits cannot tell
    [InlineData(0x184, Other, Root, false)] // 0604: a member of the group is refused though others may read
    public void TheModeBitsGrantOnlyWhereNoGroupOrCapabilityCouldChangeTheAnswer(int mode, uint owner, uint user, bool grants)
    {
        Assert.Equal(grants, ReadPermission.ModeGrants(mode, owner, user));
    }

    // Root reads what the bits refuse (CAP_DAC_OVERRIDE): the kernel, asked where the bits refuse, says so.
    [Theory]
    [InlineData(Other, 0x180)]
    [InlineData(Root, 0x000)]
    public void AsRootAFileTheModeBitsRefuseIsStillDescribed(uint owner, int mode)
    {
        Assert.Equal(Root, Libc.GetEffectiveUserId());
        using var directory = PrivateFileOf(owner, mode);

        Assert.Equal(6, DescribePrivate(directory));
    }

    // An unprivileged thread (its effective capabilities go with root's user ID) is refused another user's private file.
    [Fact]
    public void AFileTheKernelRefusesFailsTheWalkWithTheOpensError()
    {
        using var directory = PrivateFileOf(Other);

        AssertRefusedToNobody(directory);
    }

    // The mode bits show an access ACL's mask, not its entries: a file that has one is the kernel's to judge.
    [Fact]
    public async Task AFileAnAclRefusesIsRefusedThoughItsModeBitsGrant()
    {
        using var directory = PrivateFileOf(Root, 0x1A4);
        await ExternalTool.RunCheckedAsync("setfacl", "-m", $"u:{Nobody}:---", _root.Combine("private"));

        AssertRefusedToNobody(directory);
    }

    // Where the mode bits grant and no ACL could refuse, the walk makes no system call for it: a kernel that would
    // refuse is never asked.
    [Fact]
    public void AFileTheModeBitsGrantIsDescribedWithoutAskingTheKernel()
    {
        using var directory = PrivateFileOf(Root, 0x1A4);

        var size = OwnThread.Run(() =>
        {
            Posix.FailOnThisThread(Posix.Faccessat2SyscallNumber, Libc.EACCES);
            return DescribePrivate(directory);
        });

        Assert.Equal(6, size);
    }

    // Before Linux 5.8 (or under a seccomp filter that does not know faccessat2) the kernel cannot be asked.
    [Theory]
    [InlineData(Libc.ENOSYS)]
    [InlineData(Libc.EPERM)]
    public void WhereTheKernelCannotBeAskedTheOpenIsLeftToDecide(int errno)
    {
        using var directory = PrivateFileOf(Other);

        var (answer, size) = OwnThread.Run(() =>
        {
            Posix.FailOnThisThread(Posix.Faccessat2SyscallNumber, errno);
            Posix.SetEffectiveUserOfThisThread(Nobody);
            return (directory.CanReadAt("private"u8), DescribePrivate(directory));
        });

        Assert.Null(answer);
        Assert.Equal(6, size);
    }

    [Fact]
    public void TheKernelIsAskedAboutAChildAndItsErrorsOtherThanARefusalAreThrown()
    {
        File.WriteAllText(_root.Combine("file"), "x");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        Assert.True(directory.CanReadAt("file"u8) == true);
        var error = Assert.Throws<NativeIOException>(() => directory.CanReadAt("missing"u8));
        Assert.True(error.IsNotFound, error.Message);
    }

    // The directory is searchable by anyone, so that only the file's own mode stands between a thread and it.
    private FileDescriptor PrivateFileOf(uint owner, int mode = 0x180)
    {
        File.WriteAllText(_root.Combine("private"), "secret");
        Posix.ChangeOwner(_root.Combine("private"), owner, owner);
        Posix.ChangeMode(_root.Combine("private"), mode);
        Posix.ChangeMode(_root.Path, 0x1ED);
        return FileDescriptor.OpenDirectory(_root.Path);
    }

    // The metadata walk's read of the file: its size, or the walk's error.
    // Describes the file on a thread whose effective user is nobody: the walk fails with the open's own error, naming it.
    private static void AssertRefusedToNobody(FileDescriptor directory)
    {
        var error = Record.Exception(() => OwnThread.Run(() =>
        {
            Posix.SetEffectiveUserOfThisThread(Nobody);
            return DescribePrivate(directory);
        }));

        var refused = Assert.IsType<NativeIOException>(error);
        Assert.Equal(Libc.EACCES, refused.Errno);
        Assert.Equal("private", refused.Name);
    }

    private static long DescribePrivate(FileDescriptor directory)
    {
        using var entry = new DiskEntryReader(openContent: false).Read(directory, "private"u8.ToArray(), "private"u8.ToArray(), directory.StatAt("private"u8), out _);
        return entry!.Header.Size;
    }
}
