namespace StressTests.Race;

/// <summary>The secret's content: random bytes from 0x80 to 0xFF only. Everything the layer legitimately holds is ASCII, so one such byte in an export is a leak.</summary>
internal static class SecretBytes
{
    /// <summary><paramref name="length"/> secret bytes, different on every call.</summary>
    public static byte[] Create(int length)
    {
        var bytes = new byte[length];
        System.Security.Cryptography.RandomNumberGenerator.Fill(bytes);
        for (var i = 0; i < bytes.Length; i++)
        {
            bytes[i] |= 0x80;
        }

        return bytes;
    }

    /// <summary>Offset of the first secret-range byte in <paramref name="data"/>, or -1.</summary>
    public static int FirstIn(ReadOnlySpan<byte> data) => data.IndexOfAnyInRange((byte)0x80, (byte)0xFF);

    public static bool Contains(ReadOnlySpan<byte> data) => FirstIn(data) >= 0;
}
