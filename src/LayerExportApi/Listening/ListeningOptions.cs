using System.ComponentModel.DataAnnotations;

namespace LayerExportApi.Listening;

/// <summary>The configuration section <c>Listen</c>: the Unix domain socket beside the TCP address.</summary>
internal sealed class ListeningOptions
{
    /// <summary>The section name.</summary>
    public const string SectionName = "Listen";

    /// <summary>The TCP address when neither <c>--urls</c> nor <c>Kestrel:Endpoints</c> names one.</summary>
    public const string DefaultUrl = "http://127.0.0.1:5000";

    /// <summary>Absolute path of a Unix domain socket to listen on as well; none when empty.</summary>
    [MaxLength(107, ErrorMessage = "Listen:UnixSocketPath is longer than a socket address holds (107 bytes).")]
    public string? UnixSocketPath { get; set; }

    /// <summary>Permission bits of the socket file, in octal; connecting needs write permission.</summary>
    [RegularExpression("^0?[0-7]{3}$", ErrorMessage = "Listen:UnixSocketMode must be octal permission bits such as 0660.")]
    public string UnixSocketMode { get; set; } = "0660";

    /// <summary>The group that owns the socket file, by name or number, so that its members may connect; the server's own group when empty.</summary>
    public string? UnixSocketGroup { get; set; }

    /// <summary>Listen on the socket alone: no default TCP address (an explicit <c>--urls</c> still applies).</summary>
    public bool UnixSocketOnly { get; set; }

    /// <summary>The configured socket path, or null.</summary>
    public string? SocketPath => string.IsNullOrWhiteSpace(UnixSocketPath) ? null : UnixSocketPath;

    /// <summary>The mode as permission bits; only once <see cref="UnixSocketMode"/> has passed validation.</summary>
    /// <remarks>A method, not a property: validation reads every property, and this would throw before the mode's own message.</remarks>
    public UnixFileMode PermissionBits() => (UnixFileMode)Convert.ToInt32(UnixSocketMode, 8);
}
