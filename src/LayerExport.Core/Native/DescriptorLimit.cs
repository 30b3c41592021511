using System.Runtime.InteropServices;

namespace LayerExport.Core.Native;

/// <summary>How many file descriptors this process may hold open (its soft <c>RLIMIT_NOFILE</c>), and holds.</summary>
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

    /// <summary>How many descriptors this process holds open now, or null when <c>/proc</c> cannot tell.</summary>
    public static int? Held()
    {
        try
        {
            // The listing's own descriptor is among the entries; it is closed again by the time anyone uses the count.
            return Directory.EnumerateFileSystemEntries("/proc/self/fd").Count() - 1;
        }
        catch (Exception exception) when (exception is IOException or UnauthorizedAccessException)
        {
            return null;
        }
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
