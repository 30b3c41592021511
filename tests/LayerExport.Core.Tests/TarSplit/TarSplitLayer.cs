using System.Diagnostics;
using System.IO.Compression;
using LayerExport.Core.Export;
using LayerExport.Core.TarSplit;

namespace LayerExport.Core.Tests.TarSplit;

/// <summary>
/// A real fixture: GNU tar archives a tree, Debian's tar-split tool disassembles the archive into a record while
/// GNU tar unpacks it, just as Docker and containers/storage keep a layer.
/// </summary>
internal sealed class TarSplitLayer : IDisposable
{
    private const string Script = """
        command -v tar-split >/dev/null || { echo "tar-split is not installed (Debian package tar-split; ./test.sh installs it)" >&2; exit 127; }
        options="$1"; members="$2"; long_names="$3"
        mkdir -p src/dir/sub unpacked outside
        printf 'hello\n' > src/a.txt
        : > src/empty
        head -c 1024 /dev/urandom > src/dir/exact-1024
        head -c 3000000 /dev/urandom > src/dir/big.bin
        ln src/a.txt src/dir/hardlink
        ln -s ../a.txt src/dir/sub/symlink
        mkfifo src/dir/fifo
        printf 'not UTF-8\n' > src/$'\xff'raw-name
        if [ "$long_names" = yes ]; then
          long_dir=src/$(printf 'd%.0s' {1..120})
          mkdir "$long_dir"
          printf 'a long name\n' > "$long_dir/$(printf 'f%.0s' {1..150})"
          ln -s "$(printf 't%.0s' {1..130})" src/long-link
        fi
        (cd src && tar $options --sort=name -cf ../layer.tar $members)
        tar-split disasm --output tar-data.json.gz layer.tar | tar -C unpacked -x
        """;

    private TarSplitLayer(string directory) => Directory = directory;

    public string Directory { get; }

    public string Unpacked => Path.Combine(Directory, "unpacked");

    /// <summary>A scratch directory outside the unpacked layer.</summary>
    public string Outside => Path.Combine(Directory, "outside");

    public string RecordPath => Path.Combine(Directory, "tar-data.json.gz");

    public byte[] Tar => File.ReadAllBytes(Path.Combine(Directory, "layer.tar"));

    /// <param name="tarOptions">GNU tar's options, e.g. <c>--format=gnu</c>.</param>
    /// <param name="members">What tar archives inside the tree: <c>.</c> (names start with <c>./</c>) or <c>*</c> (they do not).</param>
    /// <param name="longNames">Adds a path and a symlink target too long for a plain ustar header.</param>
    public static async Task<TarSplitLayer> CreateAsync(string tarOptions, string members, bool longNames)
    {
        var layer = new TarSplitLayer(System.IO.Directory.CreateTempSubdirectory("layerexport-tarsplit-").FullName);
        try
        {
            await Shell.RunAsync(Script, layer.Directory, tarOptions, members, longNames ? "yes" : "no");
            return layer;
        }
        catch
        {
            layer.Dispose();
            throw;
        }
    }

    public TarSplitRecord OpenRecord() => new(File.OpenRead(RecordPath), leaveOpen: false);

    public List<string> ReadRecordLines()
    {
        using var gzip = new GZipStream(File.OpenRead(RecordPath), CompressionMode.Decompress);
        using var reader = new StreamReader(gzip);
        var lines = new List<string>();
        while (reader.ReadLine() is { } line)
        {
            lines.Add(line);
        }

        return lines;
    }

    public long MeasureTarLength()
    {
        using var record = OpenRecord();
        return TarSplitAssembler.MeasureTarLength(record, CancellationToken.None);
    }

    public Task<Reassembly> AssembleAsync(ExpectedTar? expected = null, Action<CancellationTokenSource>? onFirstData = null) =>
        Reassembly.RunAsync(Unpacked, OpenRecord, expected, onFirstData);

    // .NET cannot name the fixture's non-UTF-8 file, so rm removes the tree.
    public void Dispose()
    {
        using var rm = Process.Start("rm", ["-rf", "--", Directory]);
        rm.WaitForExit();
    }
}
