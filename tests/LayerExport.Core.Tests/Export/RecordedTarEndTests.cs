using System.IO.Pipelines;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LayerExport.Core.Export;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Export;

/// <summary>
/// Go's tar reader, and so Docker, containers/storage and tar-split, take a tar that stops after a member or after one
/// zero block, and keep whatever follows the end blocks: the recorded diffID (and containers/storage's diff-size)
/// cover those bytes, and the record rebuilds them.
/// </summary>
public sealed class RecordedTarEndTests : IDisposable
{
    private readonly TempDirectory _root = new();

    public void Dispose() => _root.Dispose();

    private static readonly string[] EndNames = ["no end blocks", "one end block", "garbage after the end blocks", "zeros then garbage"];

    public static TheoryData<string> Ends => [.. EndNames];

    [Theory]
    [MemberData(nameof(Ends))]
    public async Task ATarOfTheRecordedDiffSizeIsRebuiltWhateverFollowsItsLastMember(string end)
    {
        var (id, tar) = await RecordLayerAsync(end, withDigest: true, withSize: true);
        using var store = new ContainersStorageLayerStore(_root.Path);

        var rebuilt = await TarExport.ToBytesAsync(store, id, CancellationToken.None);

        Assert.Equal(tar, rebuilt);
    }

    // Partial pulls of containers/storage before 1.56 recorded a diff-size without a digest (the sum of the file
    // sizes): no promise of the tar's length, so it cannot vouch for the tar's end either.
    public static TheoryData<string, bool> EndsWithOrWithoutASize
    {
        get
        {
            var data = new TheoryData<string, bool>();
            foreach (var end in EndNames)
            {
                data.Add(end, false);
                data.Add(end, true);
            }

            return data;
        }
    }

    [Theory]
    [MemberData(nameof(EndsWithOrWithoutASize))]
    public async Task WithoutADiffDigestSuchARecordIsStillTakenForOneCutShort(string end, bool withSize)
    {
        var (id, _) = await RecordLayerAsync(end, withDigest: false, withSize);
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var export = new LayerExporter(store).Prepare(id, []);

        var refused = Assert.Throws<LayerStoreCorruptException>(() => export.Survey(CancellationToken.None));

        Assert.Contains("does not end with the two zero blocks", refused.Message, StringComparison.Ordinal);
    }

    // The diff-size tells before any byte what the diff-digest would tell only at the end.
    [Fact]
    public async Task ARecordShorterThanTheRecordedDiffSizeIsCutShortWhateverTheDiffDigest()
    {
        var (id, tar) = await RecordLayerAsync("one end block", withDigest: true, withSize: true);
        var shorter = _root.Combine("shorter.tar");
        await File.WriteAllBytesAsync(shorter, tar[..^512]);
        await ExternalTool.RunCheckedAsync("tar-split", "disasm", "--no-stdout", "--output", _root.Combine($"overlay-layers/{id}.tar-split.gz"), shorter);
        using var store = new ContainersStorageLayerStore(_root.Path);
        using var export = new LayerExporter(store).Prepare(id, []);

        var refused = Assert.Throws<LayerStoreCorruptException>(() => export.Survey(CancellationToken.None));

        Assert.Contains("does not end with the two zero blocks that end every tar: the record is cut short", refused.Message, StringComparison.Ordinal);
    }

    // Docker keeps the diffID and no tar length: every whole export checks the diffID before its last bytes, and a
    // range or descriptor of a reassembled tar waits for one that did.
    [Theory]
    [MemberData(nameof(Ends))]
    public async Task ADockerTarOfTheRecordedDiffIdIsRebuiltWhateverFollowsItsLastMember(string end)
    {
        var (chain, tar) = await DockerDataRoot.AddLayerAsync(_root.Path, "layer", parent: null, whole => Reshape(whole, end), GnuTarOfBlocks);
        using var store = new DockerLayerStore(_root.Path);
        using var export = new LayerExporter(store).Prepare(chain, []);

        var survey = export.Survey(CancellationToken.None);
        var (rebuilt, _) = await PipeCollector.CollectAsync(writer => export.WriteTarAsync(writer, CancellationToken.None));

        Assert.Equal(tar.Length, survey.TarSize);
        Assert.Equal(tar, rebuilt);
    }

    [Fact]
    public async Task ADockerRecordCutShortIsFoundByTheRecordedDiffIdBeforeItsLastBytesLeave()
    {
        var (chain, tar) = await DockerDataRoot.AddLayerAsync(_root.Path, "layer", parent: null, GnuTarOfBlocks);
        var cut = _root.Combine("cut.tar");
        await File.WriteAllBytesAsync(cut, tar[..^1024]);
        var record = _root.Combine($"image/overlay2/layerdb/sha256/{chain}/tar-split.json.gz");
        await ExternalTool.RunCheckedAsync("tar-split", "disasm", "--no-stdout", "--output", record, cut);
        using var store = new DockerLayerStore(_root.Path);
        using var export = new LayerExporter(store).Prepare(chain, []);

        using var sent = new MemoryStream();

        var refused = await Assert.ThrowsAsync<LayerExportException>(() => export.WriteTarAsync(PipeWriter.Create(sent), CancellationToken.None));

        Assert.IsType<LayerStoreCorruptException>(refused.InnerException);
        Assert.Contains("do not rebuild the recorded tar", refused.Message, StringComparison.Ordinal);
        Assert.InRange(sent.Length, 0, tar.Length - 1024 - 1);
    }

    private static readonly string[] GnuTarOfBlocks = ["--format=gnu", "--blocking-factor=1"];

    // A tar's end as a writer other than GNU tar may leave it.
    private static byte[] Reshape(byte[] whole, string end) => end switch
    {
        "no end blocks" => whole[..^1024],
        "one end block" => whole[..^512],
        "garbage after the end blocks" => [.. whole, .. "garbage"u8],
        _ => [.. whole, .. new byte[700], (byte)'x'],
    };

    // GNU tar's archive of one file, its end reshaped, tar-split's record of that and the unpacked file, as
    // containers/storage keeps them (with the diff-digest and diff-size asked for).
    private async Task<(string Id, byte[] Tar)> RecordLayerAsync(string end, bool withDigest, bool withSize)
    {
        var id = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(end)));
        var source = Directory.CreateDirectory(_root.Combine("source")).FullName;
        await File.WriteAllTextAsync(Path.Combine(source, "a.txt"), "hello\n");
        var files = Directory.CreateDirectory(_root.Combine($"overlay/{id}/diff")).FullName;
        Directory.CreateDirectory(_root.Combine("overlay-layers"));
        var tarPath = _root.Combine("layer.tar");
        await ExternalTool.RunCheckedAsync("tar", "--format=gnu", "--blocking-factor=1", "-C", source, "-cf", tarPath, "a.txt");
        var tar = Reshape(await File.ReadAllBytesAsync(tarPath), end);
        await File.WriteAllBytesAsync(tarPath, tar);
        await ExternalTool.RunCheckedAsync("tar-split", "disasm", "--no-stdout", "--output", _root.Combine($"overlay-layers/{id}.tar-split.gz"), tarPath);
        await ExternalTool.RunCheckedAsync("tar", "-C", files, "-xf", tarPath, "a.txt");
        var layer = new Dictionary<string, object> { ["id"] = id };
        if (withDigest)
        {
            layer["diff-digest"] = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar));
        }

        if (withSize)
        {
            layer["diff-size"] = tar.Length;
        }

        await File.WriteAllTextAsync(_root.Combine("overlay-layers/layers.json"), JsonSerializer.Serialize(new[] { layer }));
        return (id, tar);
    }
}
