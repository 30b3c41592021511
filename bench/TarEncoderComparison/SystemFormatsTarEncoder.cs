using System.Formats.Tar;
using System.Text;

namespace TarEncoderComparison;

/// <summary>.NET's <see cref="TarWriter"/> in PAX format, the only format of it that can carry xattrs and large IDs.</summary>
/// <remarks>
/// Its extended attributes are <c>string</c> to <c>string</c>, so a binary xattr value has to be turned into text
/// first; UTF-8 decoding is the natural choice and replaces invalid bytes with U+FFFD.
/// </remarks>
internal sealed class SystemFormatsTarEncoder : ITarEncoderUnderTest
{
    private const string XattrPrefix = "SCHILY.xattr.";

    public string Name => "tarwriter";

    public async Task WriteAsync(IReadOnlyList<BenchEntry> entries, Stream output, CancellationToken cancellationToken)
    {
        var writer = new TarWriter(output, TarEntryFormat.Pax, leaveOpen: true);
        await using (writer.ConfigureAwait(false))
        {
            foreach (var e in entries)
            {
                var attributes = e.Xattrs.ToDictionary(
                    static x => XattrPrefix + Encoding.UTF8.GetString(x.Name),
                    static x => Encoding.UTF8.GetString(x.Value));
                var entry = new PaxTarEntry(ToType(e.Type), Encoding.UTF8.GetString(e.Name), attributes)
                {
                    Mode = (UnixFileMode)e.Mode,
                    Uid = checked((int)e.Uid),
                    Gid = checked((int)e.Gid),
                    ModificationTime = DateTimeOffset.FromUnixTimeSeconds(e.ModificationTime),
                    UserName = "",
                    GroupName = "",
                };
                if (e.LinkName.Length > 0)
                {
                    entry.LinkName = Encoding.UTF8.GetString(e.LinkName);
                }

                if (e.Data.Length > 0)
                {
                    entry.DataStream = new MemoryStream(e.Data, writable: false);
                }

                await writer.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
            }
        }
    }

    private static TarEntryType ToType(byte type) => type switch
    {
        (byte)'0' => TarEntryType.RegularFile,
        (byte)'1' => TarEntryType.HardLink,
        (byte)'2' => TarEntryType.SymbolicLink,
        (byte)'5' => TarEntryType.Directory,
        _ => throw new ArgumentOutOfRangeException(nameof(type), type, "Type not in the comparison set."),
    };
}
