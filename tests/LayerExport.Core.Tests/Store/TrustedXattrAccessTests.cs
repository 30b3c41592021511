using LayerExport.Core.Store;

namespace LayerExport.Core.Tests.Store;

/// <summary>trusted.* is readable only with CAP_SYS_ADMIN in the initial user namespace, and only overlay-form layouts need it.</summary>
public sealed class TrustedXattrAccessTests
{
    private const string InitialNamespace = "         0          0 4294967295\n";

    [Theory]
    [InlineData("Name:\tserver\nCapEff:\t0000000000200000\nCapBnd:\t000001ffffffffff\n", true)]
    [InlineData("CapEff:\t000001ffffffffff", true)]
    [InlineData("CapEff:\t000001ffffdfffff\n", false)]
    [InlineData("CapEff:\t0000000000100000\n", false)]
    [InlineData("CapEff:\t0000000000400000\n", false)]
    [InlineData("CapPrm:\t0000000000200000\nCapEff:\t0000000000000000\n", false)]
    [InlineData("Name:\tserver\n", false)]
    [InlineData("", false)]
    public void OnlyTheEffectiveCapSysAdminCounts(string status, bool canRead)
    {
        var access = TrustedXattrAccess.FromProcFiles(status, InitialNamespace);

        Assert.Equal(canRead, access.CanRead);
        Assert.Equal(
            canRead ? "the process has CAP_SYS_ADMIN in the initial user namespace" : "the process lacks CAP_SYS_ADMIN",
            access.Reason);
    }

    [Theory]
    [InlineData("0 0 4294967295", true)]
    [InlineData("\t0\t0\t4294967295\r\n", true)]
    [InlineData("0 100000 65536\n", false)]
    [InlineData("0 0 4294967294\n", false)]
    [InlineData("0 0 4294967295\n0 0 1\n", false)]
    [InlineData("", false)]
    public void OnlyTheInitialUserNamespaceLetsItReachTrustedXattrs(string uidMap, bool canRead)
    {
        var access = TrustedXattrAccess.FromProcFiles("CapEff:\t000001ffffffffff\n", uidMap);

        Assert.Equal(canRead, access.CanRead);
        Assert.Equal(
            canRead
                ? "the process has CAP_SYS_ADMIN in the initial user namespace"
                : "the process runs in a user namespace, where CAP_SYS_ADMIN does not reach trusted.* attributes",
            access.Reason);
    }

    [Fact]
    public void ThisTestProcessRunsAsRootAndCanReadThem()
    {
        Assert.True(TrustedXattrAccess.OfThisProcess().CanRead);
    }

    [Fact]
    public void EveryOverlayFormLayoutNeedsThemAndNoOtherDoes()
    {
        LayerStoreLayout[] needing = [LayerStoreLayout.Native, LayerStoreLayout.Overlay2, LayerStoreLayout.Docker, LayerStoreLayout.ContainersStorage];

        Assert.All(Enum.GetValues<LayerStoreLayout>(), layout => Assert.Equal(needing.Contains(layout), TrustedXattrAccess.IsNeededBy(layout)));
        Assert.Contains(Enum.GetValues<LayerStoreLayout>(), layout => !needing.Contains(layout));
    }
}
