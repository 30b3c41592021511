using System.Text;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;
using LayerExport.Core.Tar;
using LayerExport.Core.TarSplit;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>
/// The files a record has content for are checked against what the metadata walk met, looking on disk only for those
/// it did not meet at that path with that size, as the export would open them.
/// </summary>
public sealed class RecordedFileCheckTests : IDisposable
{
    private readonly TempDirectory _directory = new("layerexport-recorded-check-");

    public RecordedFileCheckTests()
    {
        Directory.CreateDirectory(_directory.Combine("usr/bin"));
        File.WriteAllText(_directory.Combine("usr/bin/tool"), "tool\n");
        File.CreateSymbolicLink(_directory.Combine("bin"), "usr/bin");
    }

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void ARecordInTheWalksOrderIsSettledWithoutLookingOnDisk()
    {
        // Nothing of these is on disk: any lookup would fail.
        using var root = FileDescriptor.OpenDirectory(_directory.Path);
        var check = Walked(root);

        // The record gives the hard link no content.
        check.Check(RecordFile("./etc/first", 700), Clean("./etc/first"));
        check.Check(RecordFile("etc//third", 5), Clean("etc//third"));
    }

    [Fact]
    public void ARecordInAnotherOrderIsSettledByPathWithoutLookingOnDisk()
    {
        using var root = FileDescriptor.OpenDirectory(_directory.Path);
        var check = Walked(root);

        // The tar had the hard link's name first: that name carries the content.
        check.Check(RecordFile("etc/third", 5), Clean("etc/third"));
        check.Check(RecordFile("etc/second", 700), Clean("etc/second"));
        check.Check(RecordFile("etc/first", 700), Clean("etc/first"));
    }

    [Fact]
    public void AFileTheWalkDidNotMeetAtThatPathIsLookedUpAsTheExportOpensIt()
    {
        using var root = FileDescriptor.OpenDirectory(_directory.Path);
        var check = new RecordedFileCheck(root);
        check.Add(Entry("usr/bin/tool", TarEntryType.RegularFile, size: 5));

        // The tar made bin a symlink to usr/bin, and the record names the file through it.
        check.Check(RecordFile("bin/tool", 5), Clean("bin/tool"));
    }

    [Fact]
    public void AFileOfAnotherSizeThanTheWalkSawIsLookedUpToo()
    {
        using var root = FileDescriptor.OpenDirectory(_directory.Path);
        var check = new RecordedFileCheck(root);
        check.Add(Entry("usr/bin/tool", TarEntryType.RegularFile, size: 9));

        check.Check(RecordFile("usr/bin/tool", 5), Clean("usr/bin/tool"));
    }

    [Theory]
    [InlineData("usr/bin/gone", "usr/bin/gone: cannot open 'gone' in the unpacked layer (gone: No such file or directory)")]
    [InlineData("usr/bin/tool", "usr/bin/tool: is 5 bytes on disk, the tar-split record says 6")]
    [InlineData("usr/bin", "usr/bin: not a regular file on disk, but the tar-split record has content for it")]
    public void AFileThatIsNotOnDiskAsRecordedIsAnInconsistencyNamingIt(string path, string reason)
    {
        using var root = FileDescriptor.OpenDirectory(_directory.Path);
        var check = new RecordedFileCheck(root);
        check.Add(Entry("usr/bin/tool", TarEntryType.RegularFile, size: 5));

        var error = Assert.Throws<LayerStoreCorruptException>(() => check.Check(RecordFile(path, 6), Clean(path)));

        Assert.Equal($"The layer's files and its tar-split record disagree: {reason}.", error.Message);
    }

    // etc/first (700 bytes, two names), etc/second (a hard link to it), etc/third (5 bytes), as a walk meets them.
    private static RecordedFileCheck Walked(FileDescriptor root)
    {
        var check = new RecordedFileCheck(root);
        check.Add(Entry("etc/", TarEntryType.Directory));
        check.Add(Entry("etc/first", TarEntryType.RegularFile, size: 700, links: 2));
        check.Add(Entry("etc/second", TarEntryType.HardLink, linkName: "etc/first", links: 2));
        check.Add(Entry("etc/third", TarEntryType.RegularFile, size: 5));
        return check;
    }

    private static LayerEntry Entry(string path, TarEntryType type, long size = 0, string linkName = "", uint links = 1) =>
        new(new TarEntryHeader { Name = Encoding.UTF8.GetBytes(path), Type = type, Size = size, LinkName = Encoding.UTF8.GetBytes(linkName) })
        {
            Identity = new EntryIdentity(1, 1, links, 0, 0),
        };

    private static TarSplitEntry RecordFile(string path, long size) => TarSplitEntry.ForFile(Encoding.UTF8.GetBytes(path), size, checksum: 0, position: 0, lineNumber: 1);

    private static List<byte[]> Clean(string path) => LayerFileResolver.Clean(Encoding.UTF8.GetBytes(path), path);
}
