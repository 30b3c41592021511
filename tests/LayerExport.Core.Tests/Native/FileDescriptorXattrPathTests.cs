using System.Reflection;
using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Native;

/// <summary>
/// A child's xattrs are read relative to its directory: with listxattrat and getxattrat where the kernel has them,
/// which needs no procfs, and through /proc/self/fd where it does not (before Linux 6.13).
/// </summary>
[Collection(SerialTests.Name)]
public sealed class FileDescriptorXattrPathTests : IDisposable
{
    private static readonly FieldInfo NoXattrAt =
        typeof(FileDescriptor).GetField("s_noXattrAt", BindingFlags.NonPublic | BindingFlags.Static)!;

    private readonly TempDirectory _root = new();

    public FileDescriptorXattrPathTests()
    {
        File.WriteAllText(_root.Combine("file"), "content");
        Posix.SetXattr(_root.Combine("file"), "user.one", "1"u8);
        Posix.SetXattr(_root.Combine("file"), "user.two", "22"u8);
    }

    public void Dispose() => _root.Dispose();

    [Fact]
    public void WhereTheKernelHasXattratAChildsXattrsAreReadWithoutProcfs()
    {
        // The /proc/self/fd way fails on this thread, as in a container without procfs.
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        Assert.False((bool)NoXattrAt.GetValue(null)!);

        var (names, one, missing) = OnThread(
            () => Posix.FailOnThisThread([Posix.LgetxattrSyscallNumber, Posix.LlistxattrSyscallNumber], Libc.ENOENT),
            () => (directory.ListXattrsAt("file"u8), directory.GetXattrAt("file"u8, "user.one"u8), directory.GetXattrAt("file"u8, "user.none"u8)));

        Assert.Equal(["user.one", "user.two"], names.Select(Encoding.UTF8.GetString).Order());
        Assert.Equal("1"u8.ToArray(), one);
        Assert.Null(missing);
        Assert.False((bool)NoXattrAt.GetValue(null)!);
    }

    [Theory]
    [InlineData(Libc.ENOSYS, true)]
    [InlineData(Libc.EPERM, true)]
    [InlineData(Libc.ENOSYS, false)]
    [InlineData(Libc.EPERM, false)]
    public void WithoutXattratAChildsXattrsAreReadThroughItsDirectoryInProcfs(int errno, bool listFirst)
    {
        // The first call that finds xattrat missing decides for every later one: each of the two goes first once.
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        try
        {
            var (names, two, missing) = OnThread(
                () => Posix.FailOnThisThread([Posix.GetxattratSyscallNumber, Posix.ListxattratSyscallNumber], errno),
                () =>
                {
                    if (listFirst)
                    {
                        var listed = directory.ListXattrsAt("file"u8);
                        return (listed, directory.GetXattrAt("file"u8, "user.two"u8), directory.GetXattrAt("file"u8, "user.none"u8));
                    }

                    var value = directory.GetXattrAt("file"u8, "user.two"u8);
                    var absent = directory.GetXattrAt("file"u8, "user.none"u8);
                    return (directory.ListXattrsAt("file"u8), value, absent);
                });

            Assert.True((bool)NoXattrAt.GetValue(null)!);
            Assert.Equal(["user.one", "user.two"], names.Select(Encoding.UTF8.GetString).Order());
            Assert.Equal("22"u8.ToArray(), two);
            Assert.Null(missing);

            // Once without xattrat, every thread goes by procfs, and the directory stays open for as long as it is held.
            Assert.Equal("1"u8.ToArray(), directory.GetXattrAt("file"u8, "user.one"u8));
            Assert.Equal(2, directory.ListXattrsAt("file"u8).Count);
            Assert.Equal(1u, directory.StatAt("file"u8).NLink);
            Assert.Equal([_root.Path], OpenFileDescriptors.Under(_root.Path));
            directory.Dispose();
            Assert.Empty(OpenFileDescriptors.Under(_root.Path));
        }
        finally
        {
            // The latch is for the life of the process; the other tests are to find the kernel as it is.
            NoXattrAt.SetValue(null, false);
        }
    }

    // A seccomp filter binds its thread for good: each one gets a thread of its own.
    private static T OnThread<T>(Action setUp, Func<T> body) =>
        OwnThread.Run(() =>
        {
            setUp();
            return body();
        });
}
