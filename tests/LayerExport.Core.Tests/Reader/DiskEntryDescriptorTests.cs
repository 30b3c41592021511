using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Reader;

/// <summary>
/// A regular file is opened straight from its listing, before anyone knows whether its content is needed; an entry
/// that turns out to carry none gives that descriptor back at once rather than leaving it to the garbage collector.
/// </summary>
public sealed class DiskEntryDescriptorTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    [Fact]
    public void ASecondNameOfAFileKeepsNoDescriptorOpen()
    {
        File.WriteAllText(_root.Combine("first"), "content");
        Posix.HardLink(_root.Combine("first"), _root.Combine("second"));
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        var reader = new DiskEntryReader(openContent: true);
        Read(reader, directory, "first")!.Dispose();

        using var second = Read(reader, directory, "second");

        Assert.Equal(TarEntryType.HardLink, second!.Header.Type);
        Assert.Equal([_root.Path], OpenFileDescriptors.Under(_root.Path));
    }

    [Fact]
    public void AFileKeptForASymlinkKeepsNoDescriptorOpen()
    {
        File.WriteAllText(_root.Combine("link"), "target");
        Posix.SetXattr(_root.Combine("link"), "user.containers.override_stat", "0:0:0777:symlink"u8);
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        using var link = Read(new DiskEntryReader(openContent: true), directory, "link");

        Assert.Equal(TarEntryType.SymbolicLink, link!.Header.Type);
        Assert.Equal("target"u8.ToArray(), link.Header.LinkName);
        Assert.Equal([_root.Path], OpenFileDescriptors.Under(_root.Path));
    }

    [Fact]
    public void ADirectoryRefusedForItsAttributesKeepsNoDescriptorOpen()
    {
        Directory.CreateDirectory(_root.Combine("upper"));
        Posix.SetXattr(_root.Combine("upper"), "user.overlay.redirect", "/lower"u8);
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        var listed = directory.StatAt("upper"u8);

        var error = Record.Exception(() => new DiskEntryReader(openContent: true).Read(directory, "upper"u8.ToArray(), "upper"u8.ToArray(), listed, out _));

        Assert.Contains("user.overlay.redirect", Assert.IsType<InvalidDataException>(error).Message, StringComparison.Ordinal);
        Assert.Equal([_root.Path], OpenFileDescriptors.Under(_root.Path));
    }

    private static LayerEntry? Read(DiskEntryReader reader, FileDescriptor directory, string name)
    {
        var bytes = Encoding.UTF8.GetBytes(name);
        var listed = new DirectoryEntry(bytes, Libc.DT_REG, directory.StatAt(bytes).Inode);
        return reader.Read(directory, listed, bytes, directory.Stat().Device, out _);
    }
}
