using System.Runtime.InteropServices;

namespace SidecarTests.Infrastructure;

/// <summary>link(2), which .NET does not expose.</summary>
internal static partial class HardLink
{
    public static void Create(string existing, string newPath)
    {
        if (Link(existing, newPath) != 0)
        {
            throw new IOException($"link({existing}, {newPath}) failed: errno {Marshal.GetLastPInvokeError()}");
        }
    }

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string existing, string newPath);
}
