using System.Text;
using LayerExport.Core.Reader;

namespace LayerExport.Core.Tests.Reader;

/// <summary>Which extended attributes a layer's tar carries and which are overlay or host bookkeeping.</summary>
public sealed class ExportedXattrsTests
{
    [Theory]
    [InlineData("security.capability")]
    [InlineData("user.comment")]
    [InlineData("user.mime_type")]
    [InlineData("user.overlayx")]
    [InlineData("user.containersfoo")]
    [InlineData("user.a.overlay.b")]
    public void ExportsCapabilitiesAndUserAttributes(string name) =>
        Assert.True(ExportedXattrs.IsExported(Encoding.UTF8.GetBytes(name)));

    [Theory]
    [InlineData("security.selinux")]
    [InlineData("security.capability2")]
    [InlineData("security.ima")]
    [InlineData("trusted.overlay.opaque")]
    [InlineData("trusted.overlay.redirect")]
    [InlineData("trusted.comment")]
    [InlineData("user.overlay.opaque")]
    [InlineData("user.overlay.origin")]
    [InlineData("user.containers.override_stat")]
    [InlineData("user.fuseoverlayfs.override_stat")]
    [InlineData("system.posix_acl_access")]
    [InlineData("USER.comment")]
    [InlineData("user")]
    [InlineData("")]
    public void KeepsHostAndOverlayBookkeepingOut(string name) =>
        Assert.False(ExportedXattrs.IsExported(Encoding.UTF8.GetBytes(name)));

    [Fact]
    public void OpaqueMarkersAreTheTrustedAndUserOverlayAttributes()
    {
        var markers = ExportedXattrs.OpaqueMarkers.Select(Encoding.UTF8.GetString).Order(StringComparer.Ordinal);

        Assert.Equal(["trusted.overlay.opaque", "user.overlay.opaque"], markers);
    }

    // Rootless overlay (userxattr) keeps the same redirect and metacopy under user.*: either form needs the lowers.
    [Theory]
    [InlineData("trusted.overlay.redirect")]
    [InlineData("user.overlay.redirect")]
    [InlineData("trusted.overlay.metacopy")]
    [InlineData("user.overlay.metacopy")]
    public void RedirectAndMetacopyInEitherNamespaceNeedTheLowerLayers(string name) =>
        Assert.True(ExportedXattrs.NeedsLowerLayers(Encoding.UTF8.GetBytes(name)));
}
