using LayerExportApi.Limits;

namespace IntegrationTests.Limits;

/// <summary>The connections accepted at once when <c>Limits:Connections</c> is not set: half the descriptors left free.</summary>
public sealed class ConnectionLimitTests
{
    [Theory]
    [InlineData(1024UL, 234, 395)]
    [InlineData(4096UL, 285, 1905)]
    [InlineData(1_048_576UL, 300, 524_138)]
    public void HalfTheDescriptorsTheLimitLeavesFreeAreForConnections(ulong limit, int held, int connections) =>
        Assert.Equal(connections, ConnectionLimit.Default(limit, held));

    // A server already at its limit still takes one connection: with none it could not even answer its health probe.
    [Theory]
    [InlineData(300UL, 300)]
    [InlineData(300UL, 299)]
    [InlineData(300UL, 400)]
    public void ALimitWithNothingFreeStillLeavesOneConnection(ulong limit, int held) =>
        Assert.Equal(1, ConnectionLimit.Default(limit, held));

    [Theory]
    [InlineData(null, 285)]
    [InlineData(1024UL, null)]
    [InlineData(ulong.MaxValue, 285)]
    [InlineData((ulong)int.MaxValue, 285)]
    public void AnUnknownOrUnboundedLimitLeavesConnectionsUnbounded(ulong? limit, int? held) =>
        Assert.Null(ConnectionLimit.Default(limit, held));
}
