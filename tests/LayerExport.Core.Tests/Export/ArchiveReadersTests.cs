using System.Formats.Tar;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>Readers we did not write read the whole sample archive cleanly and agree on what is in it.</summary>
public sealed class ArchiveReadersTests(SampleArchive sample) : IClassFixture<SampleArchive>
{
    [Fact]
    public async Task BsdTarListsEveryEntryWithoutWarnings()
    {
        var listing = await BsdTar.ListVerboseAsync(sample.Path);

        Assert.Equal(sample.DotNetMembers.Count, listing.Count);
        foreach (var (line, member) in listing.Zip(sample.DotNetMembers))
        {
            var suffix = member.Type switch
            {
                '1' => $" link to {member.LinkName}",
                '2' => $" -> {member.LinkName}",
                _ => "",
            };
            Assert.EndsWith($" {member.Name}{suffix}", line, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task GnuTarListsEveryEntryWithoutWarnings()
    {
        var names = await GnuTar.ListNamesAsync(sample.Path);

        Assert.Equal(sample.DotNetMembers.Select(m => m.Name), names);
    }

    [Fact]
    public void PythonTarfileAndTarReaderSeeTheSameEntries()
    {
        Assert.True(sample.PythonMembers.Count > 30, $"only {sample.PythonMembers.Count} members");
        Assert.Equal(
            sample.DotNetMembers.Select(m => (m.Name, m.Type, m.Length)),
            sample.PythonMembers.Select(m => (m.ArchiveName, m.Type, m.Size)));
    }

    [Fact]
    public void TarReaderReadsEveryEntryAsUstarOrPax() =>
        Assert.All(sample.DotNetMembers, m => Assert.True(m.Format is TarEntryFormat.Ustar or TarEntryFormat.Pax, $"{m.Name}: {m.Format}"));
}
