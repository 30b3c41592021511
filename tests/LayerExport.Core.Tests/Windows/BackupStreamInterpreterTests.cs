using LayerExport.Core.Native;
using LayerExport.Core.Reader.Windows;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Windows;

/// <summary>The type bits and flags a backup stream gives its entry add up as backuptar's do: a later stream never takes one back.</summary>
public sealed class BackupStreamInterpreterTests : IDisposable
{
    private const long SymlinkBits = 0xA000;

    private readonly TempDirectory _directory = new("layerexport-interpreter-");

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void ASymlinkWithADataStreamKeepsTheSymlinkBits()
    {
        // 0xA000 already holds 0x8000, so the data stream adds nothing.
        var content = Read(new BackupStreamBuilder().Symlink("target", relative: true).DataStream("x"u8.ToArray()).ToArray());

        Assert.Equal(SymlinkBits, content.ModeBits);
        Assert.True(content.IsReparsePoint);
        Assert.Equal(1, content.Size);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void ARepeatedReparseStreamLeavesTheEntryALinkOrMountPoint(bool junction)
    {
        var builder = new BackupStreamBuilder();
        for (var i = 0; i < 2; i++)
        {
            _ = junction ? builder.Junction(@"C:\target") : builder.Symlink("target", relative: true);
        }

        var content = Read(builder.DataStream("x"u8.ToArray()).ToArray());

        Assert.Equal(SymlinkBits, content.ModeBits);
        Assert.Equal(junction, content.IsMountPoint);
    }

    [Fact]
    public void AMetadataStreamOfExactlyTheBoundIsRead()
    {
        var content = Read(new BackupStreamBuilder().SecurityDescriptor(new byte[1 << 20]).DataStream("x"u8.ToArray()).ToArray());

        Assert.Equal(1 << 20, content.SecurityDescriptor?.Length);
    }

    private BackupStreamContent Read(byte[] bytes)
    {
        File.WriteAllBytes(_directory.Combine("stream"), bytes);
        using var directory = FileDescriptor.OpenDirectory(_directory.Path);
        using var file = directory.OpenFileAt("stream"u8);
        var streams = BackupStreamParser.Parse(file, 0, bytes.Length, twoPass: true);
        return BackupStreamInterpreter.Read(file, streams, twoPass: true, isDirectory: false);
    }
}
