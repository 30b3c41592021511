using System.Buffers.Binary;
using LayerExport.Core.Native;
using LayerExport.Core.Reader;
using LayerExport.Core.Reader.Windows;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Windows;

/// <summary>A backup stream is split into headers that all lie inside the file; every fault is named at the header that has it.</summary>
public sealed class BackupStreamParserTests : IDisposable
{
    private readonly TempDirectory _directory = new("layerexport-backup-stream-");

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData(0, false, "unknown stream ID 42")]
    [InlineData(1, true, "unknown stream ID 42")]
    [InlineData(1, false, "unknown stream ID 42 after data")]
    [InlineData(2, false, "unknown stream ID 42 after data")]
    public void AnUnknownStreamIdIsSaidToBeAfterDataOnlyByAOnePassReaderPastTheData(int dataStreams, bool twoPass, string message)
    {
        var builder = new BackupStreamBuilder();
        for (var i = 0; i < dataStreams; i++)
        {
            builder.DataStream("x"u8.ToArray());
        }

        var error = Assert.Throws<InvalidDataException>(() => Parse(builder.Stream(42, []).ToArray(), twoPass));

        Assert.Equal(message, error.Message);
    }

    [Fact]
    public void AnOddNameSizeIsRefusedAtItsHeader()
    {
        var bytes = new BackupStreamBuilder().DataStream("x"u8.ToArray()).Append(Header(BackupStreamBuilder.Data, size: 0, nameSize: 3)).Append([0, 0, 0]).ToArray();

        var error = Assert.Throws<InvalidDataException>(() => Parse(bytes));

        Assert.Equal("backup stream header at offset 21 has an odd name size 3", error.Message);
    }

    [Fact]
    public void ANameRunningPastTheEndIsATruncatedStreamNotAnEarlyEnd()
    {
        // The name of a data stream is never read, so only the bounds check finds it cut short: 40 bytes where 10 are left.
        var bytes = new BackupStreamBuilder().Append(Header(BackupStreamBuilder.Data, size: 0, nameSize: 40)).Append(new byte[10]).ToArray();

        var error = Assert.Throws<InvalidDataException>(() => Parse(bytes));

        Assert.Equal("truncated backup stream: the name of stream 1 at offset 20 runs past the end of the file", error.Message);
    }

    [Fact]
    public void OnlyAnAlternateStreamHasItsNameRead()
    {
        // Longer than any alternate stream name may be: read, it would be refused.
        var name = new string('n', 1000);
        var bytes = new BackupStreamBuilder().Stream(BackupStreamBuilder.Data, "x"u8.ToArray(), name: name).ToArray();

        var header = Assert.Single(Parse(bytes));

        Assert.Equal("", header.Name);
        Assert.Equal(1, header.Size);
        Assert.Equal(20 + 2000, header.PayloadOffset);
    }

    [Fact]
    public void AnAlternateStreamNameOfTheLongestLengthIsReadAndALongerOneRefused()
    {
        var longest = ":" + new string('n', 505) + ":$DATA";
        var bytes = new BackupStreamBuilder().DataStream("x"u8.ToArray()).Stream(BackupStreamBuilder.AlternateData, "y"u8.ToArray(), name: longest).ToArray();
        var longer = new BackupStreamBuilder().DataStream("x"u8.ToArray()).Stream(BackupStreamBuilder.AlternateData, "y"u8.ToArray(), name: longest + "n").ToArray();

        Assert.Equal(longest, Parse(bytes)[1].Name);
        Assert.Equal("alternate data stream name of 1026 bytes is longer than NTFS allows", Assert.Throws<InvalidDataException>(() => Parse(longer)).Message);
    }

    [Theory]
    [InlineData(":s:$DATA\0\0pad", ":s:$DATA")]
    [InlineData("\0:s:$DATA", "")]
    [InlineData(":s:$DATA", ":s:$DATA")]
    public void AnAlternateStreamNameEndsAtItsFirstNul(string stored, string name)
    {
        var bytes = new BackupStreamBuilder().DataStream("x"u8.ToArray()).Stream(BackupStreamBuilder.AlternateData, "y"u8.ToArray(), name: stored).ToArray();

        Assert.Equal(name, Parse(bytes)[1].Name);
    }

    [Theory]
    [InlineData(4, 12)]
    [InlineData(16, 4)]
    public void ASparseBlockWithoutRoomForItsOffsetIsATruncatedStream(int size, int bytesAfterHeader)
    {
        // A size under 8 cannot count the offset; fewer than 8 bytes left cannot hold it.
        var bytes = new BackupStreamBuilder().Append(Header(BackupStreamBuilder.SparseBlock, (ulong)size, nameSize: 0)).Append(new byte[bytesAfterHeader]).ToArray();

        var error = Assert.Throws<InvalidDataException>(() => Parse(bytes));

        Assert.Equal("truncated backup stream: the sparse block at offset 20 has no room for its 8-byte offset", error.Message);
    }

    [Fact]
    public void AFileShorterThanTheEndItIsParsedToHasChanged()
    {
        // Its size was taken as 40 bytes; a header read straddles the 25 bytes now left.
        var bytes = new BackupStreamBuilder().DataStream([]).Append([1, 2, 3, 4, 5]).ToArray();

        var error = Assert.Throws<LayerChangedException>(() => Parse(bytes, end: 40));

        Assert.Equal("file ended at 25 bytes while being read", error.Message);
    }

    private static byte[] Header(uint id, ulong size, uint nameSize)
    {
        var header = new byte[20];
        BinaryPrimitives.WriteUInt32LittleEndian(header, id);
        BinaryPrimitives.WriteUInt64LittleEndian(header.AsSpan(8), size);
        BinaryPrimitives.WriteUInt32LittleEndian(header.AsSpan(16), nameSize);
        return header;
    }

    private List<BackupStreamHeader> Parse(byte[] bytes, bool twoPass = true, long? end = null)
    {
        File.WriteAllBytes(_directory.Combine("stream"), bytes);
        using var directory = FileDescriptor.OpenDirectory(_directory.Path);
        using var file = directory.OpenFileAt("stream"u8);
        return BackupStreamParser.Parse(file, 0, end ?? bytes.Length, twoPass);
    }
}
