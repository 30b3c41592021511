using LayerExport.Core.Native;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Native;

/// <summary>The private directory is only ever one that no other user can change, reached through no symlink.</summary>
[Collection(SerialTests.Name)]
public sealed class PrivateDirectoryTests : IDisposable
{
    private const uint Nobody = 65534;

    private readonly TempDirectory _root = new();

    public PrivateDirectoryTests() => Posix.ChangeMode(_root.Path, Convert.ToInt32("755", 8));

    public void Dispose() => _root.Dispose();

    [Fact]
    public void TheRootDirectoryIsRefused()
    {
        var refusal = Assert.Throws<UnsafeDirectoryException>(() => PrivateDirectory.OpenOrCreate("/"));

        Assert.Contains("root directory", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ARelativePathIsTakenFromTheWorkingDirectory()
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, _root.Combine("a/b"));

        using var opened = PrivateDirectory.OpenOrCreate(relative);

        Assert.True(opened.Stat().IsSameFile(StatusOf(_root.Combine("a/b"))));
    }

    [Fact]
    public void AnExistingPrivateDirectoryIsOpenedAsItIs()
    {
        Directory.CreateDirectory(_root.Combine("a/b"));
        Posix.ChangeMode(_root.Combine("a/b"), Convert.ToInt32("500", 8));

        using var opened = PrivateDirectory.OpenOrCreate(_root.Combine("a/b"));

        Assert.True(opened.Stat().IsSameFile(StatusOf(_root.Combine("a/b"))));
        Assert.Equal(Convert.ToInt32("500", 8), Posix.Stat(_root.Combine("a/b")).Mode & 0xFFF);
    }

    [Theory]
    [InlineData("775", false)]
    [InlineData("757", false)]
    [InlineData("1775", true)]
    [InlineData("1777", true)]
    [InlineData("755", true)]
    public void AnAncestorOthersCanWriteIsAcceptedOnlyWhenSticky(string mode, bool accepted)
    {
        // Like /tmp: in a sticky directory, others cannot rename or remove what they do not own.
        Directory.CreateDirectory(_root.Combine("shared"));
        Posix.ChangeMode(_root.Combine("shared"), Convert.ToInt32(mode, 8));

        var error = Record.Exception(() => PrivateDirectory.OpenOrCreate(_root.Combine("shared/mine")).Dispose());

        Assert.Equal(accepted, error is null);
        Assert.Equal(accepted, Directory.Exists(_root.Combine("shared/mine")));
        if (!accepted)
        {
            var message = Assert.IsType<UnsafeDirectoryException>(error).Message;
            Assert.Contains($"'{_root.Combine("shared")}' belongs to uid 0 with mode {mode}; every directory above it must belong to root", message, StringComparison.Ordinal);
            Assert.EndsWith("or to this process's user (uid 0) and be writable by nobody else unless it is sticky.", message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AnAncestorOfAnotherUserIsRefusedEvenWhenOnlyItsOwnerCanWrite()
    {
        Directory.CreateDirectory(_root.Combine("theirs"));
        Posix.ChangeOwner(_root.Combine("theirs"), Nobody, Nobody);

        var refusal = Assert.Throws<UnsafeDirectoryException>(() => PrivateDirectory.OpenOrCreate(_root.Combine("theirs/mine")));

        Assert.Contains($"belongs to uid {Nobody} with mode 755", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AStickyDirectoryOthersCanWriteIsNoPrivateDirectoryItself()
    {
        Directory.CreateDirectory(_root.Combine("shared"));
        Posix.ChangeMode(_root.Combine("shared"), Convert.ToInt32("1777", 8));

        var refusal = Assert.Throws<UnsafeDirectoryException>(() => PrivateDirectory.OpenOrCreate(_root.Combine("shared")));

        Assert.Contains($"'{_root.Combine("shared")}' belongs to uid 0 with mode 1777; it must belong to this process's user (uid 0)", refusal.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("file")]
    [InlineData("file/below")]
    public void AFileOnThePathIsRefused(string path)
    {
        File.WriteAllText(_root.Combine("file"), "not a directory");

        var refusal = Assert.Throws<UnsafeDirectoryException>(() => PrivateDirectory.OpenOrCreate(_root.Combine(path)));

        Assert.Contains($"'{_root.Combine("file")}' is a symlink or not a directory", refusal.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ADirectoryRemovedJustAfterItWasCreatedIsAnError()
    {
        // Created by mkdir, then gone before it is opened: nothing else may be opened in its place.
        var created = _root.Combine("gone");
        var opens = 0;

        var error = Record.Exception(() => SyscallRace.AtOpen(
            () => PrivateDirectory.OpenOrCreate(created),
            name =>
            {
                if (name == "gone" && ++opens == 2)
                {
                    Directory.Delete(created);
                }
            }));

        Assert.True(Assert.IsType<NativeIOException>(error).IsNotFound);
        Assert.Equal(created, ((NativeIOException)error).Name);
    }

    [Fact]
    public void OnlyTheOpenedDirectoryStaysOpen()
    {
        Directory.CreateDirectory(_root.Combine("a/b"));

        using (PrivateDirectory.OpenOrCreate(_root.Combine("a/b/c/d")))
        {
            Assert.Equal([_root.Combine("a/b/c/d")], OpenFileDescriptors.Under(_root.Path));
        }

        Assert.Empty(OpenFileDescriptors.Under(_root.Path));
    }

    [Fact]
    public void ARefusalLeavesNothingOpen()
    {
        Directory.CreateDirectory(_root.Combine("a/shared"));
        Posix.ChangeMode(_root.Combine("a/shared"), Convert.ToInt32("777", 8));

        Assert.Throws<UnsafeDirectoryException>(() => PrivateDirectory.OpenOrCreate(_root.Combine("a/shared/mine")));

        Assert.Empty(OpenFileDescriptors.Under(_root.Path));
    }

    [Fact]
    public void ForAServerThatIsNotRootAncestorsOfRootAndOfItsOwnUserAreBothAccepted()
    {
        // The usual deployment: /, /tmp and the like belong to root, the directories below to the server's user.
        const uint server = 4321;
        Posix.ChangeOwner(_root.Path, server, server);
        Directory.CreateDirectory(_root.Combine("mine"));
        Posix.ChangeOwner(_root.Combine("mine"), server, server);

        var opened = AsUser(server, () =>
        {
            using var directory = PrivateDirectory.OpenOrCreate(_root.Combine("mine/cache"));
            return directory.Stat();
        });

        Assert.Equal(server, opened.Uid);
        Assert.Equal(Convert.ToInt32("700", 8), opened.Mode & 0xFFF);
    }

    [Fact]
    public void ForAServerThatIsNotRootADirectoryOfRootIsNoPrivateDirectory()
    {
        const uint server = 4321;
        Directory.CreateDirectory(_root.Combine("roots"));

        var failure = Assert.Throws<UnsafeDirectoryException>(() => AsUser(server, () =>
        {
            PrivateDirectory.OpenOrCreate(_root.Combine("roots")).Dispose();
            return true;
        }));

        Assert.Contains($"belongs to uid 0 with mode 755; it must belong to this process's user (uid {server})", failure.Message, StringComparison.Ordinal);
    }

    // The effective user is set for one thread alone, made for the body, and set back before it ends.
    private static T AsUser<T>(uint user, Func<T> body) =>
        OwnThread.Run(() =>
        {
            Posix.SetEffectiveUserOfThisThread(user);
            try
            {
                return body();
            }
            finally
            {
                Posix.SetEffectiveUserOfThisThread(0);
            }
        });

    private static FileStatus StatusOf(string path)
    {
        using var opened = FileDescriptor.OpenDirectory(path);
        return opened.Stat();
    }
}
