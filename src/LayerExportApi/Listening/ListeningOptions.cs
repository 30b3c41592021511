using System.ComponentModel.DataAnnotations;
using System.Text;

namespace LayerExportApi.Listening;

/// <summary>The configuration section <c>Listen</c>: the Unix domain socket beside the TCP address.</summary>
internal sealed class ListeningOptions
{
    /// <summary>The section name.</summary>
    public const string SectionName = "Listen";

    /// <summary>The TCP address when neither <c>--urls</c> nor <c>Kestrel:Endpoints</c> names one.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5000";

    // An empty value passes a regular expression attribute, and would fail only once the socket is bound.
    private const string ModeMessage = "Listen:UnixSocketMode must be octal permission bits such as 0660.";

    /// <summary>Most bytes of a path a Unix domain socket's address holds on Linux, besides its terminating NUL.</summary>
    public const int MaxSocketPathBytes = 107;

    /// <summary>Absolute path of a Unix domain socket to listen on as well; none when empty.</summary>
    public string? UnixSocketPath { get; set; }

    /// <summary>Permission bits of the socket file, in octal; connecting needs write permission.</summary>
    [Required(ErrorMessage = ModeMessage)]
    [RegularExpression("^0?[0-7]{3}$", ErrorMessage = ModeMessage)]
    public string UnixSocketMode { get; set; } = "0660";

    /// <summary>The group that owns the socket file, by name or number, so that its members may connect; the server's own group when empty.</summary>
    public string? UnixSocketGroup { get; set; }

    /// <summary>Listen on the socket alone: no default TCP address (an explicit <c>--urls</c> still applies).</summary>
    public bool UnixSocketOnly { get; set; }

    /// <summary>The configured socket path, or null.</summary>
    public string? SocketPath => string.IsNullOrWhiteSpace(UnixSocketPath) ? null : UnixSocketPath;

    /// <summary>Whether <see cref="SocketPath"/>, if any, fits a socket address as it is written.</summary>
    /// <remarks>
    /// Counted in UTF-8 bytes, as the address holds it: a path of few characters but many bytes would otherwise fail
    /// in Kestrel's bind with a stack trace. A NUL would end the path early, so another file than the one named would be
    /// bound (and a stale socket there removed).
    /// </remarks>
    public bool SocketPathFitsAnAddress() =>
        SocketPath is not { } path || (Encoding.UTF8.GetByteCount(path) <= MaxSocketPathBytes && !path.Contains('\0', StringComparison.Ordinal));

    /// <summary>The mode as permission bits; only once <see cref="UnixSocketMode"/> has passed validation.</summary>
    /// <remarks>A method, not a property: validation reads every property, and this would throw before the mode's own message.</remarks>
    public UnixFileMode PermissionBits() => (UnixFileMode)Convert.ToInt32(UnixSocketMode, 8);
}
