using System.Buffers;

namespace LayerExport.Core.Tests.Support;

/// <summary>Looks at the array the shared pool lends next on this thread: the one this thread gave back last.</summary>
internal static class SharedPoolProbe
{
    /// <summary>Asserts that the next array of <paramref name="length"/> bytes lent on this thread holds each of <paramref name="expected"/> at its offset.</summary>
    public static void AssertNextRentHolds(int length, params (int Offset, byte[] Bytes)[] expected)
    {
        var buffer = ArrayPool<byte>.Shared.Rent(length);
        try
        {
            foreach (var (offset, bytes) in expected)
            {
                Assert.Equal(bytes, buffer[offset..(offset + bytes.Length)]);
            }
        }
        finally
        {
            ArrayPool<byte>.Shared.Return(buffer);
        }
    }
}
