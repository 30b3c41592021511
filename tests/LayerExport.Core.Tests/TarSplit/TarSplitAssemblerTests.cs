using System.IO.Pipelines;
using System.Security.Cryptography;
using LayerExport.Core.Digest;
using LayerExport.Core.Export;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;
using LayerExport.Core.TarSplit;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>Against real fixtures: GNU tar's archives, disassembled and unpacked by Debian's tar-split tool.</summary>
public class TarSplitAssemblerTests
{
    [Theory]
    [InlineData("--format=gnu", ".", true)]
    [InlineData("--format=gnu", "*", true)]
    [InlineData("--format=posix", ".", true)]
    [InlineData("--format=posix", "*", true)]
    [InlineData("--format=posix --pax-option=comment=a-global-header", ".", true)] // a global header is no member
    [InlineData("--format=ustar", ".", false)]
    [InlineData("--format=oldgnu --blocking-factor=1", ".", true)]
    public async Task TheOriginalTarComesBackByteForByte(string tarOptions, string members, bool longNames)
    {
        using var layer = await TarSplitLayer.CreateAsync(tarOptions, members, longNames);
        var tar = layer.Tar;
        var digest = LayerDigest.FromHash(SHA256.HashData(tar));

        var result = await layer.AssembleAsync();

        Assert.Null(result.Error);
        Assert.Equal(tar.Length, result.Received.Length);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(tar)), result.Sha256);
        // The entries are the tar's members as GNU tar lists them, not the record's lines.
        var listed = await GnuTar.ListNamesAsync(Path.Combine(layer.Directory, "layer.tar"));
        Assert.Equal(new TarSplitSummary(tar.Length, listed.Count, digest), result.Summary);
        Assert.Equal(tar.Length, layer.MeasureTarLength());

        // Flushed, not only written: the caller completes the output and may not flush it first.
        Assert.Equal(tar.Length, result.Flushed);
    }

    [Fact]
    public async Task GnuTarsRecordPaddingIsPartOfTheTar()
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=gnu", ".", longNames: true);

        var result = await layer.AssembleAsync();

        // GNU tar pads to whole 10 KiB records: the bytes after the two end blocks come from the record too.
        Assert.Equal(0, result.Received.Length % 10240);
        Assert.Equal(layer.Tar, result.Received);
    }

    [Fact]
    public async Task TheAnnouncedLengthAndDigestPass()
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=posix", "*", longNames: true);
        var tar = layer.Tar;

        var result = await layer.AssembleAsync(new ExpectedTar(tar.Length, LayerDigest.FromHash(SHA256.HashData(tar))));

        Assert.Null(result.Error);
        Assert.Equal(tar, result.Received);
    }

    [Fact]
    public async Task ADifferentAnnouncedDigestFailsBeforeTheLastBytesLeave()
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=gnu", ".", longNames: false);
        var tar = layer.Tar;

        var result = await layer.AssembleAsync(new ExpectedTar(null, LayerDigest.FromHash(new byte[32])));

        var error = Assert.IsType<LayerExportException>(result.Error);
        Assert.Equal("(end of archive)", error.Path);

        // The tail after the last file (its padding, the end-of-archive blocks, GNU tar's record padding: zeros, in
        // several segments) waits for the check.
        Assert.InRange(result.BytesWritten, 0, tar.Length - 1024);
        Assert.True(tar.AsSpan((int)result.BytesWritten).IndexOfAnyExcept((byte)0) < 0, "a byte of the last file waits with the tail");
        Assert.True(result.Flushed < tar.Length, $"{result.Flushed} of {tar.Length} bytes were flushed before the check");
    }

    [Fact]
    public async Task ADifferentAnnouncedLengthFailsBeforeTheLastBytesLeave()
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=gnu", ".", longNames: false);
        var tar = layer.Tar;

        var result = await layer.AssembleAsync(new ExpectedTar(tar.Length + 1, null));

        var error = Assert.IsType<LayerExportException>(result.Error);
        Assert.Contains($"the reassembled tar is {tar.Length} bytes, not the announced {tar.Length + 1}", error.Message, StringComparison.Ordinal);
        Assert.True(result.Flushed < tar.Length);
    }

    [Fact]
    public async Task ContentAlteredInPlaceFailsNamingThePath()
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=gnu", ".", longNames: false);
        var path = Path.Combine(layer.Unpacked, "dir", "exact-1024");
        var bytes = File.ReadAllBytes(path);
        bytes[700] ^= 0x20;
        File.WriteAllBytes(path, bytes);

        var result = await layer.AssembleAsync();

        var error = Assert.IsType<LayerExportException>(result.Error);
        Assert.Equal("./dir/exact-1024", error.Path);
        Assert.Contains("./dir/exact-1024", error.Message, StringComparison.Ordinal);
        Assert.Contains("checksum", error.Message, StringComparison.Ordinal);
        Assert.IsType<LayerChangedException>(error.InnerException);
        Assert.True(result.Flushed < layer.Tar.Length);
    }

    [Fact]
    public async Task ATruncatedFileFails()
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=gnu", "*", longNames: false);
        File.WriteAllBytes(Path.Combine(layer.Unpacked, "dir", "exact-1024"), new byte[1000]);

        var result = await layer.AssembleAsync();

        var error = Assert.IsType<LayerExportException>(result.Error);
        Assert.Equal("dir/exact-1024", error.Path);
        Assert.Contains("is 1000 bytes on disk, the tar-split record says 1024", error.Message, StringComparison.Ordinal);
        Assert.IsType<LayerChangedException>(error.InnerException);
    }

    [Fact]
    public async Task ALongerFileFails()
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=gnu", "*", longNames: false);
        File.AppendAllText(Path.Combine(layer.Unpacked, "a.txt"), "more");

        var result = await layer.AssembleAsync();

        var error = Assert.IsType<LayerExportException>(result.Error);
        Assert.Equal("a.txt", error.Path);
        Assert.Contains("is 10 bytes on disk, the tar-split record says 6", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASymlinkPlantedInPlaceOfADirectoryDoesNotLeadOutOfTheLayer()
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=gnu", ".", longNames: false);

        // The link leads to an identical copy outside, so only resolving it inside the layer can fail the export.
        var copy = Path.Combine(layer.Outside, "dir");
        Directory.Move(Path.Combine(layer.Unpacked, "dir"), copy);
        File.CreateSymbolicLink(Path.Combine(layer.Unpacked, "dir"), copy);

        var result = await layer.AssembleAsync();

        var error = Assert.IsType<LayerExportException>(result.Error);
        Assert.StartsWith("./dir/", error.Path, StringComparison.Ordinal);
        Assert.Contains("cannot open its directory in the unpacked layer", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ASymlinkPlantedInPlaceOfAFileIsRefused()
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=gnu", ".", longNames: false);
        var file = Path.Combine(layer.Unpacked, "dir", "exact-1024");
        var copy = Path.Combine(layer.Outside, "exact-1024");
        File.Move(file, copy);
        File.CreateSymbolicLink(file, copy);

        var result = await layer.AssembleAsync();

        var error = Assert.IsType<LayerExportException>(result.Error);
        Assert.Equal("./dir/exact-1024", error.Path);
        Assert.Contains("'exact-1024' is a symlink on disk; refused", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFifoInPlaceOfAFileIsRefusedWithoutBlocking()
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=gnu", ".", longNames: false);
        var file = Path.Combine(layer.Unpacked, "a.txt");
        File.Delete(file);
        await Shell.RunAsync("mkfifo \"$1\"", layer.Directory, file);

        var result = await layer.AssembleAsync();

        var error = Assert.IsType<LayerExportException>(result.Error);
        Assert.Equal("./a.txt", error.Path);
        Assert.Contains("not a regular file on disk", error.Message, StringComparison.Ordinal);
        Assert.IsType<LayerChangedException>(error.InnerException);
    }

    [Fact]
    public async Task ADeviceInPlaceOfAFileIsRefusedWithoutOpeningIt()
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=gnu", ".", longNames: false);
        var file = Path.Combine(layer.Unpacked, "a.txt");
        File.Delete(file);

        // No driver has character major 0, so an open would fail with ENXIO and name that instead.
        await Shell.RunAsync("mknod \"$1\" c 0 1", layer.Directory, file);

        var result = await layer.AssembleAsync();

        var error = Assert.IsType<LayerExportException>(result.Error);
        Assert.Equal("./a.txt", error.Path);
        Assert.Contains("not a regular file on disk", error.Message, StringComparison.Ordinal);
        Assert.IsType<LayerChangedException>(error.InnerException);
    }

    [Theory]
    [InlineData("dir/exact-1024", "./dir/exact-1024")]
    [InlineData("dir", "./dir/big.bin")]
    public async Task ABindMountOfAnIdenticalCopyIsRefused(string mountPoint, string firstFileUnderIt)
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=gnu", ".", longNames: false);
        var target = Path.Combine(layer.Unpacked, mountPoint);
        var copy = Path.Combine(layer.Outside, "copy");

        // Same bytes, same file system: only the refusal to cross the mount can fail the export.
        await Shell.RunAsync("cp -a \"$1\" \"$2\" && mount --bind \"$2\" \"$1\"", layer.Directory, target, copy);
        try
        {
            var result = await layer.AssembleAsync();

            var error = Assert.IsType<LayerExportException>(result.Error);
            Assert.Equal(firstFileUnderIt, error.Path);
            Assert.Contains("mount point", error.Message, StringComparison.Ordinal);
        }
        finally
        {
            await Shell.RunAsync("umount \"$1\"", layer.Directory, target);
        }
    }

    [Fact]
    public async Task CancellationStopsTheStreamWithinAChunk()
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=gnu", ".", longNames: false);
        var tar = layer.Tar;

        // The first bytes to reach the reader cancel the export; the 3 MB file still has megabytes to go.
        var result = await layer.AssembleAsync(onFirstData: cancellation => cancellation.Cancel());

        Assert.IsAssignableFrom<OperationCanceledException>(result.Error);
        Assert.True(tar.Length > 3_000_000);
        Assert.True(result.BytesWritten <= result.Flushed + FileReadSize.Large + (64 * 1024), $"{result.BytesWritten} written after {result.Flushed} flushed");
        Assert.True(result.BytesWritten < 2 * 1024 * 1024, $"{result.BytesWritten} of {tar.Length} bytes written");
    }

    [Fact]
    public async Task AMalformedRecordLineFailsTheExportNamingTheLine()
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=gnu", ".", longNames: false);
        var lines = layer.ReadRecordLines();
        lines[4] = lines[4][..^3];
        var compressed = SyntheticRecord.Compress(lines);

        var result = await Reassembly.RunAsync(layer.Unpacked, () => SyntheticRecord.Open(compressed), expected: null, onFirstData: null);

        var error = Assert.IsType<LayerExportException>(result.Error);
        Assert.Equal("(tar-split record)", error.Path);
        Assert.Equal(5, Assert.IsType<TarSplitRecordException>(error.InnerException).LineNumber);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public void AFileThatCannotBeReadFailsTheReassemblyNamingIt(bool range)
    {
        using var layer = new SyntheticLayer();
        using var root = FileDescriptor.OpenDirectory(layer.Root);
        using var record = SyntheticLayer.OpenRecord(SyntheticLayer.Lines);
        var assembler = new TarSplitAssembler(root);
        var output = PipeWriter.Create(new MemoryStream());

        // Every read of a file's content fails as a failing disk's would. Writing into memory never waits, so the
        // whole reassembly runs on the thread that has the fault.
        var error = Record.Exception(() => OwnThread.Run(() =>
        {
            Posix.FailOnThisThread(Posix.Pread64SyscallNumber, Libc.EIO);
            var writing = range
                ? assembler.WriteRangeAsync(record, output, 0, SyntheticLayer.Tar.Length, CancellationToken.None)
                : assembler.WriteAsync(record, output, null, CancellationToken.None);
            writing.GetAwaiter().GetResult();
            return 0;
        }));

        var failure = Assert.IsType<LayerExportException>(error);
        Assert.Equal("a.txt", failure.Path);
        Assert.Equal(Libc.EIO, Assert.IsType<NativeIOException>(failure.InnerException).Errno);
        Assert.Equal(SyntheticLayer.AStart, assembler.BytesWritten);
    }

    [Fact]
    public async Task ARecordOtherThanTheOneSurveyedFailsBeforeTheLastBytesLeave()
    {
        using var layer = new SyntheticLayer();

        var result = await Reassembly.RunAsync(
            layer.Root,
            () =>
            {
                var record = SyntheticLayer.OpenRecord(SyntheticLayer.Lines);
                record.Expect(LayerDigest.FromHash(new byte[32]));
                return record;
            },
            expected: null,
            onFirstData: null);

        var error = Assert.IsType<LayerExportException>(result.Error);
        Assert.Equal("(tar-split record)", error.Path);
        Assert.IsType<LayerChangedException>(error.InnerException);

        // The last segment (b.bin's padding and the end-of-archive blocks) waits for the check.
        Assert.Equal(SyntheticLayer.BStart + SyntheticLayer.B.Length, result.BytesWritten);
        Assert.True(result.Flushed < SyntheticLayer.Tar.Length, $"{result.Flushed} of {SyntheticLayer.Tar.Length} bytes were flushed before the check");
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task TheHeadersOfManyEmptyEntriesLeaveInBatches(bool range)
    {
        // A layer of many directories is all headers: with no file content to flush after, only the segments' own
        // flushes keep the pipe from holding all of them at once.
        var header = Enumerable.Repeat((byte)'h', 512).ToArray();
        string[] lines = [.. Enumerable.Range(0, 1000).Select(i => SyntheticRecord.Segment(header, i)), SyntheticRecord.Segment(new byte[1024], 1000)];
        using var layer = new SyntheticLayer();
        using var root = FileDescriptor.OpenDirectory(layer.Root);
        using var record = SyntheticLayer.OpenRecord(lines);
        var output = new FlushCountingPipeWriter(PipeWriter.Create(new MemoryStream()));
        var assembler = new TarSplitAssembler(root);

        if (range)
        {
            await assembler.WriteRangeAsync(record, output, 100, 1001 * 512, CancellationToken.None);
        }
        else
        {
            await assembler.WriteAsync(record, output, null, CancellationToken.None);
        }

        Assert.InRange(output.MostUnflushed, 1, TarStreamWriter.FlushThreshold + 512);
    }

    [Fact]
    public async Task AFileRebuiltWhileManyLargeFilesAreReadTakesCrowdedReads()
    {
        using var layer = await TarSplitLayer.CreateAsync("--format=gnu", ".", longNames: false);
        using var root = FileDescriptor.OpenDirectory(layer.Unpacked);
        using var record = layer.OpenRecord();
        var output = new FlushCountingPipeWriter(PipeWriter.Create(Stream.Null));

        // Other large downloads at once (tests running beside this one can only add to them).
        using (LargeFileReads.Begin(FileReadSize.SmallReadsAtOnce))
        {
            await new TarSplitAssembler(root).WriteAsync(record, output, null, CancellationToken.None);
        }

        // The fixture's 3 MB file is read in crowded reads, and nothing else asks for more.
        Assert.Equal(FileReadSize.Crowded, output.LargestRequest);
    }

    [Fact]
    public async Task ANullRecordIsRefusedByName()
    {
        using var layer = new SyntheticLayer();
        using var root = FileDescriptor.OpenDirectory(layer.Root);
        var assembler = new TarSplitAssembler(root);
        var output = PipeWriter.Create(new MemoryStream());

        Assert.Equal("record", Assert.Throws<ArgumentNullException>(() => TarSplitAssembler.MeasureTarLength(null!, CancellationToken.None)).ParamName);
        Assert.Equal("record", (await Assert.ThrowsAsync<ArgumentNullException>(() => assembler.WriteAsync(null!, output, null, CancellationToken.None))).ParamName);
        Assert.Equal("record", (await Assert.ThrowsAsync<ArgumentNullException>(() => assembler.WriteRangeAsync(null!, output, 0, 1, CancellationToken.None))).ParamName);
    }
}
