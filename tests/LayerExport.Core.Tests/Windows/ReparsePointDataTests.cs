using System.Buffers.Binary;
using System.Text;
using LayerExport.Core.Reader.Windows;

namespace LayerExport.Core.Tests.Windows;

/// <summary>A reparse stream gives its print name as the link target only when its buffer really holds it.</summary>
public sealed class ReparsePointDataTests
{
    [Fact]
    public void ReparseDataShorterThanItsHeadersIsRefused()
    {
        var error = Assert.Throws<InvalidDataException>(() => ReparsePointData.Decode(MountPoint("", printNameLength: 0).AsSpan(0, 15)));

        Assert.Equal("reparse data of 15 bytes is too short", error.Message);
    }

    [Fact]
    public void AMountPointOfJustItsHeadersHasAnEmptyTarget()
    {
        Assert.Equal(("", true), Decoded(MountPoint("", printNameLength: 0)));
    }

    [Fact]
    public void APrintNameThatEndsTheBufferIsRead()
    {
        // The builder's buffers end in a NUL; one without it is as valid and fills the buffer exactly.
        Assert.Equal((@"C:\target", true), Decoded(MountPoint(@"C:\target", printNameLength: 18)));
    }

    [Fact]
    public void APrintNameRunningPastTheBufferIsRefused()
    {
        var error = Assert.Throws<InvalidDataException>(() => ReparsePointData.Decode(MountPoint(@"C:\target", printNameLength: 20)));

        Assert.Equal("the print name of the reparse point (20 bytes at 8) runs past its 26 bytes", error.Message);
    }

    private static (string, bool) Decoded(byte[] buffer)
    {
        var (target, isMountPoint) = ReparsePointData.Decode(buffer);
        return (Encoding.UTF8.GetString(target), isMountPoint);
    }

    // A junction whose only path is the print name, at offset 0 of the path buffer, without a trailing NUL.
    private static byte[] MountPoint(string printName, ushort printNameLength)
    {
        var name = Encoding.Unicode.GetBytes(printName);
        var buffer = new byte[16 + name.Length];
        BinaryPrimitives.WriteUInt32LittleEndian(buffer, ReparsePointData.MountPointTag);
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(4), (ushort)(buffer.Length - 8));
        BinaryPrimitives.WriteUInt16LittleEndian(buffer.AsSpan(14), printNameLength);
        name.CopyTo(buffer, 16);
        return buffer;
    }
}
