using LayerExport.Core.Store;
using LayerExport.Core.TarSplit;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>tar-split records a GNU sparse file with its holes filled in, so its record cannot rebuild the tar: the measure says so before any byte is sent.</summary>
public sealed class TarSplitSparseTests : IDisposable
{
    // A 1 MiB file with three bytes in the middle, beside an ordinary one; tar-split disassembles GNU tar's archive.
    private const string Script = """
        command -v tar-split >/dev/null || { echo "tar-split is not installed (Debian package tar-split; ./test.sh installs it)" >&2; exit 127; }
        mkdir -p src
        truncate -s 1M src/holes
        printf abc | dd of=src/holes bs=1 seek=500000 conv=notrunc status=none
        printf 'hello\n' > src/a.txt
        head -c 4096 /dev/urandom > src/whole
        (cd src && tar $1 --sort=name -cf ../layer.tar $2)
        tar-split disasm --no-stdout --output record.json.gz layer.tar
        """;

    private readonly TempDirectory _directory = new();

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData("--format=gnu --sparse")]
    [InlineData("--format=posix --sparse")]
    [InlineData("--format=posix --sparse --sparse-version=0.1")]
    [InlineData("--format=posix --sparse --sparse-version=0.0")]
    public async Task AGnuSparseFileIsNamedAsOneTheRecordCannotRebuild(string tarOptions)
    {
        await Shell.RunAsync(Script, _directory.Path, tarOptions, "a.txt holes whole");

        var error = Assert.Throws<LayerStoreCorruptException>(() => Measure());

        Assert.Matches(@"^The tar-split record, line \d+: holes is a GNU sparse file, which tar-split records with its holes filled in: the record cannot rebuild the layer's tar\.$", error.Message);
    }

    // Only the holes make the difference: the same file archived whole, or a file without holes under --sparse, rebuild.
    [Theory]
    [InlineData("--format=gnu", "a.txt holes whole")]
    [InlineData("--format=posix", "a.txt holes whole")]
    [InlineData("--format=gnu --sparse", "a.txt whole")]
    [InlineData("--format=posix --sparse", "a.txt whole")]
    public async Task WithoutHolesLeftOutTheTarIsMeasuredWhole(string tarOptions, string members)
    {
        await Shell.RunAsync(Script, _directory.Path, tarOptions, members);

        Assert.Equal(new FileInfo(_directory.Combine("layer.tar")).Length, Measure());
    }

    private long Measure()
    {
        using var record = new TarSplitRecord(File.OpenRead(_directory.Combine("record.json.gz")), leaveOpen: false);
        return TarSplitAssembler.MeasureTarLength(record, CancellationToken.None);
    }
}
