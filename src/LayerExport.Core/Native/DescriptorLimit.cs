using System.Runtime.InteropServices;

namespace LayerExport.Core.Native;

/// <summary>How many file descriptors this process may hold open (its soft <c>RLIMIT_NOFILE</c>).</summary>
public static unsafe partial class DescriptorLimit
{
    private const int RlimitNofile = 7;

    /// <summary>The limit now, or null when it cannot be read.</summary>
    /// <remarks>Read after the runtime has started, which raises the soft limit to the hard one itself.</remarks>
    public static ulong? Current()
    {
        ResourceLimit limit;
        return GetResourceLimit(RlimitNofile, &limit) == 0 ? limit.Current : null;
    }

    [LibraryImport("libc", EntryPoint = "getrlimit", SetLastError = true)]
    private static partial int GetResourceLimit(int resource, ResourceLimit* limit);

    [StructLayout(LayoutKind.Sequential)]
    private struct ResourceLimit
    {
        public ulong Current;
        public ulong Maximum;
    }
}
