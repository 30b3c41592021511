using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Reader;

/// <summary>What one listed name becomes, on the path that opens content and on the metadata-only one.</summary>
public sealed class DiskEntryReaderTests : IDisposable
{
    private const string Override = "user.containers.override_stat";

    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    // The writer checks the file once its bytes are out: a chmod moves only its mode and ctime.
    [Fact]
    public void AFileWhoseModeChangedAfterItWasOpenedWasChanged()
    {
        File.WriteAllText(_root.Combine("file"), "content");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        using var entry = Read(new DiskEntryReader(openContent: true), directory, "file");
        Posix.ChangeMode(_root.Combine("file"), 0x180);

        var error = Record.Exception(() => entry!.Content!.EnsureUnchanged());

        Assert.Equal("file was changed while being read", Assert.IsType<LayerChangedException>(error).Message);
    }

    [Fact]
    public void AFileDeletedAfterItWasOpenedWasDeleted()
    {
        File.WriteAllText(_root.Combine("file"), "content");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        using var entry = Read(new DiskEntryReader(openContent: true), directory, "file");
        File.Delete(_root.Combine("file"));

        var error = Record.Exception(() => entry!.Content!.EnsureUnchanged());

        Assert.Equal("file was deleted or replaced while being read", Assert.IsType<LayerChangedException>(error).Message);
    }

    [Fact]
    public void TheControlAnUnchangedFileIsUnchanged()
    {
        File.WriteAllText(_root.Combine("file"), "content");
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        using var entry = Read(new DiskEntryReader(openContent: true), directory, "file");

        entry!.Content!.EnsureUnchanged();
    }

    // A symlink target is at most 64 KiB here; a file kept for a symlink is read whole only up to that.
    [Theory]
    [InlineData(1)]
    [InlineData(64 * 1024)]
    public void AFileKeptForASymlinkIsDescribedWithItsContentAsTheTarget(int length)
    {
        var target = Encoding.ASCII.GetBytes(new string('t', length));
        using var directory = KeptForASymlink(target);

        var header = DiskEntryReader.Describe(directory, "link"u8.ToArray(), "link"u8.ToArray(), directory.StatAt("link"u8));

        Assert.Equal(TarEntryType.SymbolicLink, header!.Type);
        Assert.Equal(0, header.Size);
        Assert.Equal(target, header.LinkName);
    }

    [Fact]
    public void AFileKeptForASymlinkOfMoreThan64KiBIsRefused()
    {
        using var directory = KeptForASymlink(new byte[(64 * 1024) + 1]);

        var error = Record.Exception(() => DiskEntryReader.Describe(directory, "link"u8.ToArray(), "link"u8.ToArray(), directory.StatAt("link"u8)));

        Assert.Equal("a symlink target of 65537 bytes is not plausible", Assert.IsType<InvalidDataException>(error).Message);
    }

    // Between the status that gave its size and the read of its target, the file lost its bytes.
    [Fact]
    public void AFileKeptForASymlinkThatShrinksWhileItsTargetIsReadWasChanged()
    {
        using var directory = KeptForASymlink("../target"u8.ToArray());
        var listed = directory.StatAt("link"u8);
        var truncated = false;

        var error = Record.Exception(() => SyscallRace.AtRead(
            () => DiskEntryReader.Describe(directory, "link"u8.ToArray(), "link"u8.ToArray(), listed),
            () =>
            {
                if (!truncated)
                {
                    File.WriteAllBytes(_root.Combine("link"), []);
                    truncated = true;
                }
            }));

        Assert.True(truncated, "the target was never read");
        Assert.Equal("file shrank while being read", Assert.IsType<LayerChangedException>(error).Message);
    }

    // Rewritten longer between the status that gave its size and the read of its target: the first bytes alone are a cut target.
    [Fact]
    public void AFileKeptForASymlinkThatGrowsWhileItsTargetIsReadWasChanged()
    {
        using var directory = KeptForASymlink("../target"u8.ToArray());
        var listed = directory.StatAt("link"u8);

        var error = RewrittenAsItsTargetIsRead(() => DiskEntryReader.Describe(directory, "link"u8.ToArray(), "link"u8.ToArray(), listed), "../a/longer/target"u8);

        Assert.Equal("file grew while being read", Assert.IsType<LayerChangedException>(error).Message);
    }

    // Rewritten with a target of the same length before it is read: that target is not the one of the status the
    // header was made from (its mtime, set in the past here, tells).
    [Fact]
    public void AFileKeptForASymlinkRewrittenInPlaceBeforeItsTargetIsReadWasChanged()
    {
        using var directory = KeptForASymlink("../target"u8.ToArray());
        Posix.SetTimes(_root.Combine("link"), 1_600_000_000, 0, 1_600_000_000, 0);
        var listed = directory.StatAt("link"u8);

        var error = RewrittenAsItsTargetIsRead(() => DiskEntryReader.Describe(directory, "link"u8.ToArray(), "link"u8.ToArray(), listed), "../tarzet"u8);

        Assert.Equal("file was changed while being read", Assert.IsType<LayerChangedException>(error).Message);
    }

    // The export reads the target from the file it opened; it must not stop at the size the open saw either.
    [Fact]
    public void AFileKeptForASymlinkThatGrowsWhileTheExportReadsItsTargetWasChanged()
    {
        using var directory = KeptForASymlink("../target"u8.ToArray());
        var listed = new DirectoryEntry("link"u8.ToArray(), Libc.DT_REG, directory.StatAt("link"u8).Inode);
        var device = directory.Stat().Device;

        var error = RewrittenAsItsTargetIsRead(() => new DiskEntryReader(openContent: true).Read(directory, listed, "link"u8.ToArray(), device, out _), "../a/longer/target"u8);

        Assert.Equal("file grew while being read", Assert.IsType<LayerChangedException>(error).Message);
        Assert.Equal([_root.Path], OpenFileDescriptors.Under(_root.Path));
    }

    // What describe throws when the kept file "link" is rewritten to hold target once, as its target is being read.
    private Exception? RewrittenAsItsTargetIsRead<T>(Func<T> describe, ReadOnlySpan<byte> target)
    {
        var content = target.ToArray();
        var rewritten = false;
        var error = Record.Exception(() => SyscallRace.AtRead(describe, () =>
        {
            if (!rewritten)
            {
                File.WriteAllBytes(_root.Combine("link"), content);
                rewritten = true;
            }
        }));

        Assert.True(rewritten, "the target was never read");
        return error;
    }

    [Fact]
    public void AnOverrideThatARegularFileCannotStandForIsRefusedNamingIt()
    {
        File.WriteAllText(_root.Combine("file"), "");
        Posix.SetXattr(_root.Combine("file"), Override, "0:0:0755:socket"u8);
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        var error = Record.Exception(() => DiskEntryReader.Describe(directory, "file"u8.ToArray(), "file"u8.ToArray(), directory.StatAt("file"u8)));

        Assert.Equal("override_stat says 'socket', which this entry cannot stand for", Assert.IsType<InvalidDataException>(error).Message);
    }

    // The metadata walk (the survey that gives the tar's length) must see the hard links the export writes.
    [Fact]
    public void TheMetadataWalkMakesASecondNameOfAFileAHardLink()
    {
        File.WriteAllText(_root.Combine("first"), "content");
        Posix.HardLink(_root.Combine("first"), _root.Combine("second"));
        using var directory = FileDescriptor.OpenDirectory(_root.Path);
        var reader = new DiskEntryReader(openContent: false);

        using var first = Read(reader, directory, "first");
        using var second = Read(reader, directory, "second");

        Assert.Equal((TarEntryType.RegularFile, 7L), (first!.Header.Type, first.Header.Size));
        Assert.Equal((TarEntryType.HardLink, 0L), (second!.Header.Type, second.Header.Size));
        Assert.Equal("first"u8.ToArray(), second.Header.LinkName);
    }

    // Two files with the same attributes set in another order describe alike, as a snapshot comparison needs.
    [Fact]
    public void ExtendedAttributesAreInByteOrderWhateverOrderTheyWereSetIn()
    {
        File.WriteAllText(_root.Combine("file"), "");
        Posix.SetXattr(_root.Combine("file"), "user.b", "2"u8);
        Posix.SetXattr(_root.Combine("file"), "user.a", "1"u8);
        using var directory = FileDescriptor.OpenDirectory(_root.Path);

        var header = DiskEntryReader.Describe(directory, "file"u8.ToArray(), "file"u8.ToArray(), directory.StatAt("file"u8));

        Assert.Equal(["user.a", "user.b"], header!.Xattrs.Select(x => Encoding.ASCII.GetString(x.Name)));
    }

    // The snapshot layout hands over names it stat'ed itself, with no device of its own to compare: the kernel's
    // mark of a mount's root is what keeps another file system mounted inside the layer out of it.
    [Fact]
    public async Task AListedMountRootIsRefusedWithoutBeingEntered()
    {
        Directory.CreateDirectory(_root.Combine("mnt"));
        await ExternalTool.RunCheckedAsync("mount", "-t", "tmpfs", "-o", "size=1m", "layer-export-test", _root.Combine("mnt"));
        FileDescriptor? opened = null;
        try
        {
            using var directory = FileDescriptor.OpenDirectory(_root.Path);
            var listed = directory.StatAt("mnt"u8);

            var error = Record.Exception(() => new DiskEntryReader(openContent: true).Read(directory, "mnt"u8.ToArray(), "mnt"u8.ToArray(), listed, out opened));

            Assert.Contains("mount point", Assert.IsType<InvalidDataException>(error).Message, StringComparison.Ordinal);
            Assert.Null(opened);
        }
        finally
        {
            opened?.Dispose();
            await ExternalTool.RunCheckedAsync("umount", _root.Combine("mnt"));
        }
    }

    // A regular file is opened straight from its listing, before anyone knows whether its content is needed; an
    // entry that turns out to carry none gives that descriptor back at once, not to the garbage collector.
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
        using var directory = KeptForASymlink("target"u8.ToArray());

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

    private FileDescriptor KeptForASymlink(byte[] target)
    {
        File.WriteAllBytes(_root.Combine("link"), target);
        Posix.SetXattr(_root.Combine("link"), Override, "0:0:0777:symlink"u8);
        return FileDescriptor.OpenDirectory(_root.Path);
    }
}
