using System.Security.Cryptography;
using System.Text;

namespace LayerExport.Core.Tests.Support;

/// <summary>
/// Docker's overlay2 graph-driver directory laid out by hand the way Docker does: <c>&lt;id&gt;/diff</c>,
/// <c>link</c> (a 26-character short name), <c>lower</c> (<c>l/&lt;short&gt;</c> nearest first) and
/// <c>l/&lt;short&gt;</c> symlinks to <c>../&lt;id&gt;/diff</c>.
/// </summary>
/// <remarks>Also compiled into the integration tests, which serve such a directory.</remarks>
internal static class Overlay2Directory
{
    /// <summary>Adds layer <paramref name="name"/> over <paramref name="lower"/> (names, nearest first) and returns its empty <c>diff/</c>.</summary>
    /// <remarks>Docker writes link without a newline and lower as l/&lt;short&gt;:l/&lt;short&gt;..., nearest first; a base has no lower.</remarks>
    public static string AddLayer(string root, string name, IReadOnlyList<string> lower)
    {
        var layer = Path.Combine(root, Id(name));
        var diff = Directory.CreateDirectory(Path.Combine(layer, "diff")).FullName;
        File.WriteAllText(Path.Combine(layer, "link"), ShortName(name));
        if (lower.Count > 0)
        {
            File.WriteAllText(Path.Combine(layer, "lower"), string.Join(':', lower.Select(l => "l/" + ShortName(l))));
        }

        Directory.CreateDirectory(Path.Combine(root, "l"));
        File.CreateSymbolicLink(Path.Combine(root, "l", ShortName(name)), $"../{Id(name)}/diff");
        return diff;
    }

    /// <summary>The layer ID <see cref="AddLayer"/> gives <paramref name="name"/>.</summary>
    public static string Id(string name) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("layer:" + name)));

    /// <summary>26 characters of [A-Z0-9], like Docker's generated short names.</summary>
    public static string ShortName(string name) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes("short:" + name)))[..26];
}
