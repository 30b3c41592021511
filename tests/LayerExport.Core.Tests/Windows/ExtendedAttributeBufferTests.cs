using System.Buffers.Binary;
using LayerExport.Core.Reader.Windows;

namespace LayerExport.Core.Tests.Windows;

/// <summary>An extended-attribute stream is read only as far as its entries stay inside it; anything else is invalid.</summary>
public sealed class ExtendedAttributeBufferTests
{
    [Fact]
    public void AnEntryShorterThanItsHeaderIsInvalid()
    {
        AssertInvalid(BackupStreamBuilder.EaBuffer(("A", [1]))[..5]);
    }

    [Fact]
    public void AValueRunningPastTheBufferIsInvalid()
    {
        AssertInvalid(BackupStreamBuilder.EaBuffer(("A", [1, 2, 3]))[..^1]);
    }

    [Fact]
    public void ANextEntryPastTheBufferIsInvalid()
    {
        var buffer = BackupStreamBuilder.EaBuffer(("A", [1]), ("B", [2]));
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, (uint)buffer.Length + 1);

        AssertInvalid(buffer);
    }

    [Fact]
    public void ANextEntryOffsetAtTheEndOfTheBufferEndsIt()
    {
        // The last entry padded to 4 bytes, its offset pointing just past the buffer: nothing follows.
        var buffer = BackupStreamBuilder.EaBuffer(("AB", [1]), ("C", [2]))[..12];
        Assert.Equal(12u, BinaryPrimitives.ReadUInt32LittleEndian(buffer));

        var (name, value) = Assert.Single(ExtendedAttributeBuffer.Decode(buffer));

        Assert.Equal("AB"u8.ToArray(), name);
        Assert.Equal(new byte[] { 1 }, value);
    }

    private static void AssertInvalid(byte[] buffer) =>
        Assert.Equal("invalid extended attribute buffer", Assert.Throws<InvalidDataException>(() => ExtendedAttributeBuffer.Decode(buffer)).Message);
}
