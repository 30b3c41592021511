using System.Diagnostics.CodeAnalysis;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;

namespace LayerExport.TestSupport;

/// <summary>Gives the test process umask 022, whatever umask the shell that started it had.</summary>
/// <remarks>
/// The fixtures' modes come from the umask: the pinned bytes hold them, and a server started as another user must
/// read what the tests wrote. Under a hardened umask (027, 077) those tests would fail on their fixtures, not on the code.
/// </remarks>
internal static partial class StandardUmask
{
    [ModuleInitializer]
    [SuppressMessage("Usage", "CA2255:The 'ModuleInitializer' attribute should not be used in libraries", Justification = "A test assembly is the application here; the umask must be set before any test writes a fixture.")]
    internal static void Apply() => _ = SetUmask(Convert.ToUInt32("022", 8));

    // umask(2) cannot fail; it returns the mask it replaced.
    [LibraryImport("libc", EntryPoint = "umask")]
    private static partial uint SetUmask(uint mask);
}
