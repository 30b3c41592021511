using System.Globalization;

namespace LayerExport.Core.Store;

/// <summary>Whether this process can read <c>trusted.*</c> extended attributes, where overlayfs keeps its opaque marks.</summary>
/// <remarks>
/// The kernel shows <c>trusted.*</c> only to a process with CAP_SYS_ADMIN in the initial user namespace. To any
/// other process getxattr answers ENODATA, exactly as for an attribute that is not set, and listxattr leaves the
/// names out. A directory marked <c>trusted.overlay.opaque=y</c> then looks like an ordinary one, and its export
/// lacks the opaque marker: the layer is silently wrong, not failed. The same holds for
/// <c>trusted.overlay.whiteout</c> and for the redirect and metacopy marks the reader refuses.
/// </remarks>
/// <param name="CanRead">True when <c>trusted.*</c> attributes are visible to this process.</param>
/// <param name="Reason">What the verdict rests on, for the start-up log.</param>
public sealed record TrustedXattrAccess(bool CanRead, string Reason)
{
    private const int CapSysAdmin = 21;

    /// <summary>The access of the running process, read from <c>/proc/self/status</c> and <c>/proc/self/uid_map</c>.</summary>
    public static TrustedXattrAccess OfThisProcess() =>
        FromProcFiles(File.ReadAllText("/proc/self/status"), File.ReadAllText("/proc/self/uid_map"));

    /// <summary>The verdict for a process with this <c>/proc/&lt;pid&gt;/status</c> and <c>uid_map</c>.</summary>
    public static TrustedXattrAccess FromProcFiles(string status, string uidMap)
    {
        var effective = status.Split('\n')
            .Select(static line => line.Split(':', 2))
            .Where(static field => field.Length == 2 && field[0] == "CapEff")
            .Select(static field => ulong.Parse(field[1].Trim(), NumberStyles.HexNumber, CultureInfo.InvariantCulture))
            .FirstOrDefault();
        if ((effective & (1UL << CapSysAdmin)) == 0)
        {
            return new(false, "the process lacks CAP_SYS_ADMIN");
        }

        // Capabilities inside a user namespace do not reach trusted.*: only the initial namespace maps all 2^32 IDs onto themselves.
        var initialNamespace = uidMap.Split(' ', '\t', '\n', '\r').Where(static s => s.Length > 0).SequenceEqual(["0", "0", "4294967295"]);
        return initialNamespace
            ? new(true, "the process has CAP_SYS_ADMIN in the initial user namespace")
            : new(false, "the process runs in a user namespace, where CAP_SYS_ADMIN does not reach trusted.* attributes");
    }

    /// <summary>
    /// True for the layouts whose diff directories may mark opaque directories (and xattr whiteouts) in
    /// <c>trusted.overlay.*</c>: every overlay-form layout.
    /// </summary>
    public static bool IsNeededBy(LayerStoreLayout layout) => layout is
        LayerStoreLayout.Native or LayerStoreLayout.Overlay2 or LayerStoreLayout.Docker or LayerStoreLayout.ContainersStorage;
}
