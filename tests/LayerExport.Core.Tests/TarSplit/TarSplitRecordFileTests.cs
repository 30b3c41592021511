using LayerExport.Core.Native;
using LayerExport.Core.TarSplit;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>Opening a record file beside a layer: only a real regular file is read.</summary>
public sealed class TarSplitRecordFileTests : IDisposable
{
    private readonly string _directory = Directory.CreateTempSubdirectory("layerexport-tarsplit-record-").FullName;

    [Fact]
    public void ARegularRecordFileIsReadThroughTheDirectory()
    {
        File.WriteAllBytes(Path.Combine(_directory, "tar-split.json.gz"), SyntheticRecord.Compress(
            [SyntheticRecord.Segment(new byte[512], 0), SyntheticRecord.Segment(new byte[1024], 1)]));
        using var directory = FileDescriptor.OpenDirectory(_directory);

        using var record = TarSplitRecord.OpenAt(directory, "tar-split.json.gz"u8);

        Assert.Equal(1536, TarSplitAssembler.MeasureTarLength(record, CancellationToken.None));
        Assert.Equal(2, record.LineNumber);
    }

    [Fact]
    public void ASymlinkedRecordIsRefused()
    {
        var real = Path.Combine(_directory, "real.gz");
        File.WriteAllBytes(real, SyntheticRecord.Compress([SyntheticRecord.Segment(new byte[512], 0)]));
        File.CreateSymbolicLink(Path.Combine(_directory, "tar-split.json.gz"), real);
        using var directory = FileDescriptor.OpenDirectory(_directory);

        var error = Assert.Throws<NativeIOException>(() => TarSplitRecord.OpenAt(directory, "tar-split.json.gz"u8));

        Assert.True(error.IsSymlinkRefused);
    }

    [Fact]
    public void ADirectoryInPlaceOfTheRecordIsRefused()
    {
        Directory.CreateDirectory(Path.Combine(_directory, "tar-split.json.gz"));
        using var directory = FileDescriptor.OpenDirectory(_directory);

        var error = Assert.Throws<TarSplitRecordException>(() => TarSplitRecord.OpenAt(directory, "tar-split.json.gz"u8));

        Assert.Contains("not a regular file", error.Message, StringComparison.Ordinal);
        Assert.Equal([_directory], OpenFileDescriptors.Under(_directory));
    }

    // One record is opened for every export of a recorded layer: a descriptor left behind each time would pile up.
    [Fact]
    public void ADisposedRecordLeavesNoDescriptorOfItsFileOpen()
    {
        var path = Path.Combine(_directory, "tar-split.json.gz");
        File.WriteAllBytes(path, SyntheticRecord.Compress([SyntheticRecord.Segment(new byte[512], 0)]));
        using var directory = FileDescriptor.OpenDirectory(_directory);

        using (TarSplitRecord.OpenAt(directory, "tar-split.json.gz"u8))
        {
            Assert.Equal([_directory, path], OpenFileDescriptors.Under(_directory));
        }

        Assert.Equal([_directory], OpenFileDescriptors.Under(_directory));
    }

    public void Dispose() => Directory.Delete(_directory, recursive: true);
}
