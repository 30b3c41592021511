using System.Security.Cryptography;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>
/// Tars whose names Go cleans before use (absolute, doubled slashes, <c>..</c>) or that write through a symlinked
/// directory they made themselves come back byte for byte, as Debian's <c>tar-split asm</c> rebuilds them.
/// </summary>
public sealed class TarSplitPathRoundTripTests : IDisposable
{
    // Python writes the names as given; the unpacked tree is where an extractor that resolves inside the layer puts them.
    private const string Script = """
        command -v tar-split >/dev/null || { echo "tar-split is not installed (Debian package tar-split; ./test.sh installs it)" >&2; exit 127; }
        python3 - <<'PY'
        import io, tarfile
        def add(t, name, kind, data=b"", target=""):
            info = tarfile.TarInfo(name); info.mtime = 1700000000
            if kind == "dir": info.type = tarfile.DIRTYPE; info.mode = 0o755
            elif kind == "link": info.type = tarfile.SYMTYPE; info.linkname = target
            else: info.size = len(data); info.mode = 0o644
            t.addfile(info, io.BytesIO(data) if kind == "file" else None)
        with tarfile.open("layer.tar", "w", format=tarfile.PAX_FORMAT) as t:
            add(t, "usr/", "dir"); add(t, "usr/bin/", "dir"); add(t, "bin", "link", target="usr/bin")
            add(t, "bin/tool", "file", b"tool\n")
            add(t, "d/", "dir"); add(t, "d//double", "file", b"double\n")
            add(t, "/d/absolute", "file", b"absolute\n")
            add(t, "x/", "dir"); add(t, "./x/../y", "file", b"y\n")
        PY
        mkdir -p unpacked/usr/bin unpacked/d unpacked/x
        printf 'tool\n' > unpacked/usr/bin/tool; ln -s usr/bin unpacked/bin
        printf 'double\n' > unpacked/d/double; printf 'absolute\n' > unpacked/d/absolute; printf 'y\n' > unpacked/y
        tar-split disasm --output tar-data.json.gz layer.tar > /dev/null
        tar-split asm --input tar-data.json.gz --path unpacked --output asm.tar
        """;

    private readonly string _directory = Directory.CreateTempSubdirectory("layerexport-tarsplit-roundtrip-").FullName;

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task TheOriginalTarComesBackAsTarSplitRebuildsIt()
    {
        await Shell.RunAsync(Script, _directory);
        var original = await File.ReadAllBytesAsync(Path.Combine(_directory, "layer.tar"));

        var result = await Reassembly.RunAsync(
            Path.Combine(_directory, "unpacked"),
            () => new LayerExport.Core.TarSplit.TarSplitRecord(File.OpenRead(Path.Combine(_directory, "tar-data.json.gz")), leaveOpen: false),
            expected: null,
            onFirstData: null);

        Assert.Null(result.Error);
        Assert.Equal(Convert.ToHexStringLower(SHA256.HashData(original)), result.Sha256);
        Assert.Equal(original, await File.ReadAllBytesAsync(Path.Combine(_directory, "asm.tar")));
    }
}
