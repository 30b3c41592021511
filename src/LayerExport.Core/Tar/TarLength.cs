namespace LayerExport.Core.Tar;

/// <summary>Adds up tar lengths and offsets without wrapping: a tar longer than a long can count is refused.</summary>
/// <remarks>
/// A sparse file's logical size can be close to 2^63 (the <c>windows</c> layout takes it from a sparse block's
/// offset, and XFS allows such files), so a sum of entry sizes can pass <see cref="long.MaxValue"/>. Unchecked, it
/// would wrap to a small or negative length, announced as the body's length and served in ranges.
/// </remarks>
public static class TarLength
{
    /// <summary><paramref name="length"/> + <paramref name="more"/>, both not negative.</summary>
    /// <exception cref="TarEncodingException">The sum is more than <see cref="long.MaxValue"/>.</exception>
    public static long Add(long length, long more) =>
        more <= long.MaxValue - length ? length + more : throw TooLong($"{more} more bytes after {length}");

    /// <summary>The refusal of a tar that would be longer than <see cref="long.MaxValue"/>; <paramref name="detail"/> says how.</summary>
    public static TarEncodingException TooLong(string detail) =>
        new($"the tar would be longer than {long.MaxValue} bytes, the most its length can count ({detail})");
}
