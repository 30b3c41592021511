using System.Globalization;
using System.Text;

namespace LayerExport.Core.Reader;

/// <summary>The true owner, mode and type that a rootless store recorded in an xattr because it could not keep them on disk.</summary>
/// <remarks>
/// containers/storage writes <c>user.containers.override_stat</c>; fuse-overlayfs writes that one, or in older
/// versions <c>user.fuseoverlayfs.override_stat</c>, or with <c>xattr_permissions=1</c>
/// <c>security.fuseoverlayfs.override_stat</c>, and shows the files through its mount with what they record (a mode
/// that may carry the type bits). It is applied to the entry, never exported.
/// </remarks>
/// <param name="Uid">The true owner.</param>
/// <param name="Gid">The true group.</param>
/// <param name="Mode">Permission bits with setuid, setgid and sticky.</param>
/// <param name="Kind">The true type: file, dir, symlink, pipe, socket, block or char; null when not recorded.</param>
/// <param name="Major">Device major number (block and char).</param>
/// <param name="Minor">Device minor number (block and char).</param>
public sealed record ContainersOverrideStat(uint Uid, uint Gid, int Mode, string? Kind, uint Major, uint Minor)
{
    // The attributes' names, the one fuse-overlayfs prefers first.
    private static readonly byte[][] XattrNames =
    [
        "security.fuseoverlayfs.override_stat"u8.ToArray(),
        "user.containers.override_stat"u8.ToArray(),
        "user.fuseoverlayfs.override_stat"u8.ToArray(),
    ];

    /// <summary>The rank of <paramref name="name"/> among the override attributes (0 wins), or -1 for any other name.</summary>
    public static int Rank(ReadOnlySpan<byte> name)
    {
        for (var i = 0; i < XattrNames.Length; i++)
        {
            if (name.SequenceEqual(XattrNames[i]))
            {
                return i;
            }
        }

        return -1;
    }

    /// <summary>Parses <c>uid:gid:mode[:type]</c>, the mode in octal and the type as <c>char-M-m</c> for devices.</summary>
    /// <exception cref="InvalidDataException">The value is not of that form.</exception>
    public static ContainersOverrideStat Parse(ReadOnlySpan<byte> value)
    {
        var parts = Encoding.UTF8.GetString(value).Split(':');
        if (parts.Length < 3
            || !uint.TryParse(parts[0], NumberStyles.None, CultureInfo.InvariantCulture, out var uid)
            || !uint.TryParse(parts[1], NumberStyles.None, CultureInfo.InvariantCulture, out var gid)
            || !TryParseOctal(parts[2], out var mode))
        {
            throw new InvalidDataException($"override_stat '{Encoding.UTF8.GetString(value)}' is not uid:gid:mode[:type]");
        }

        if (parts.Length < 4)
        {
            return new ContainersOverrideStat(uid, gid, mode & 0xFFF, null, 0, 0);
        }

        var type = parts[3].Split('-');
        return type[0] switch
        {
            "file" or "dir" or "symlink" or "pipe" or "socket" => new ContainersOverrideStat(uid, gid, mode & 0xFFF, type[0], 0, 0),
            "block" or "char" when type.Length >= 3
                && uint.TryParse(type[1], NumberStyles.None, CultureInfo.InvariantCulture, out var major)
                && uint.TryParse(type[2], NumberStyles.None, CultureInfo.InvariantCulture, out var minor)
                => new ContainersOverrideStat(uid, gid, mode & 0xFFF, type[0], major, minor),
            _ => throw new InvalidDataException($"override_stat names an unknown file type '{parts[3]}'"),
        };
    }

    private static bool TryParseOctal(string text, out int value)
    {
        value = 0;
        if (text.Length is 0 or > 7)
        {
            return false;
        }

        foreach (var c in text)
        {
            if (c is < '0' or > '7')
            {
                return false;
            }

            value = (value * 8) + (c - '0');
        }

        return true;
    }
}
