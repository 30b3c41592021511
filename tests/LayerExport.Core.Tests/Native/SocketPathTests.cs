using System.Net.Sockets;
using LayerExport.Core.Native;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Native;

/// <summary>Only a socket at the listener's path may be taken for one: the server removes what it takes for a stale socket.</summary>
public sealed class SocketPathTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public void ASocketFileIsASocketAndNothingElseIs()
    {
        var socket = _root.Combine("socket");
        // Held open: .NET removes the socket file when a bound socket is closed.
        using var listener = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        listener.Bind(new UnixDomainSocketEndPoint(socket));
        File.WriteAllText(_root.Combine("file"), "content");
        File.CreateSymbolicLink(_root.Combine("link"), socket);

        Assert.Equal(SocketPathKind.Socket, SocketPath.Inspect(socket));
        Assert.Equal(SocketPathKind.Other, SocketPath.Inspect(_root.Combine("file")));
        Assert.Equal(SocketPathKind.Other, SocketPath.Inspect(_root.Path));
        Assert.Equal(SocketPathKind.Other, SocketPath.Inspect(_root.Combine("link")));
        Assert.Equal(SocketPathKind.Nothing, SocketPath.Inspect(_root.Combine("absent")));
    }

    [Fact]
    public void APathThatCannotBeLookedUpIsAnError()
    {
        File.WriteAllText(_root.Combine("file"), "content");

        var error = Assert.Throws<NativeIOException>(() => SocketPath.Inspect(_root.Combine("file/socket")));

        Assert.Equal(_root.Combine("file/socket"), error.Name);
        Assert.False(error.IsNotFound);
    }

    [Theory]
    [InlineData("0", 0u)]
    [InlineData("4242", 4242u)]
    [InlineData("root", 0u)]
    [InlineData("daemon", 1u)]
    [InlineData("adm", 4u)]
    public void AGroupIsANumberOrANameTheSystemKnows(string group, uint expected)
    {
        Assert.Equal(expected, SocketPath.ResolveGroup(group));
    }

    [Theory]
    [InlineData("no-such-group-here")]
    [InlineData("+4")]
    [InlineData("-4")]
    [InlineData(" 4")]
    public void AnythingElseIsNoGroup(string group)
    {
        Assert.Null(SocketPath.ResolveGroup(group));
    }

    [Fact]
    public void ABlankGroupIsRefused()
    {
        Assert.Throws<ArgumentException>(() => SocketPath.ResolveGroup(" "));
    }

    [Fact]
    public void SettingTheGroupKeepsTheOwnerAndLeavesWhatALinkPointsTo()
    {
        var file = _root.Combine("file");
        File.WriteAllText(file, "content");
        Posix.ChangeOwner(file, 1234, 0);
        File.CreateSymbolicLink(_root.Combine("link"), file);

        SocketPath.SetGroup(file, 4321);
        SocketPath.SetGroup(_root.Combine("link"), 999);

        Assert.Equal((1234u, 4321u), (Posix.Stat(file).Uid, Posix.Stat(file).Gid));
        Assert.Equal(999u, Posix.Stat(_root.Combine("link")).Gid);
    }

    [Fact]
    public void SettingTheGroupOfNothingFails()
    {
        var error = Assert.Throws<NativeIOException>(() => SocketPath.SetGroup(_root.Combine("absent"), 4321));

        Assert.True(error.IsNotFound);
    }
}
