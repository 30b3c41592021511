namespace ZstdComparison;

/// <summary>One way of compressing a whole input with zstd level 3 and a checksum.</summary>
internal interface IZstdVariant
{
    /// <summary>A short label for the table.</summary>
    string Name { get; }

    /// <summary>Compresses <paramref name="input"/>, fed in <paramref name="chunk"/>-byte writes, into <paramref name="output"/>.</summary>
    void Compress(byte[] input, int chunk, OutputBuffer output);
}
