using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>Device nodes keep their numbers, FIFOs stay FIFOs, sockets are left out.</summary>
public sealed class SpecialFileExportTests(SampleArchive sample) : IClassFixture<SampleArchive>
{
    [Theory]
    [InlineData("dev/null", '3', 1, 3)]
    [InlineData("dev/sda1", '4', 8, 1)]
    [InlineData("dev/big-minor", '3', 136, 1_048_575)]
    public void PythonReadsTheDeviceNumbers(string name, char type, long major, long minor)
    {
        var device = sample.Member(name);

        Assert.Equal((type, major, minor, 0L), (device.Type, device.DevMajor, device.DevMinor, device.Size));
    }

    [Theory]
    [InlineData("c", "dev/null", "1,3")]
    [InlineData("b", "dev/sda1", "8,1")]
    [InlineData("c", "dev/big-minor", "136,1048575")]
    public async Task GnuTarListsTheDeviceNumbers(string typeLetter, string name, string numbers)
    {
        var listing = await GnuTar.ListVerboseAsync(sample.Path);

        ListingAssert.HasLine(listing, typeLetter, $" {numbers} ", $" {name}");
    }

    [Fact]
    public void FifoIsAFifo() => Assert.Equal(('6', 0L), (sample.Member("dev/fifo").Type, sample.Member("dev/fifo").Size));

    [Fact]
    public void SocketIsSkipped()
    {
        Assert.Equal(Posix.SocketType, Posix.Stat(sample.Tree.PathOf("dev/socket")).Type);
        Assert.DoesNotContain(sample.PythonMembers, m => m.Name == "dev/socket");
    }
}
