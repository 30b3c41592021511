using System.IO.Pipelines;
using System.Security.Cryptography;
using LayerExport.Core.Compression;
using LayerExport.Core.Export;
using LayerExport.Core.Reader;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>
/// Docker's data-root built the way Docker builds it: a layer tar made by GNU tar (with its own header quirks)
/// disassembled by the tar-split tool into the layer database, its files unpacked into overlay2.
/// </summary>
public sealed class DockerLayerStoreTests : IDisposable
{
    private readonly TempDirectory _root = new();

    [Fact]
    public async Task TheExportIsTheOriginalTarByteForByteAndItsDiffIdIsTheRecordedOne()
    {
        var (baseChain, baseTar) = await AddLayerAsync("base", parent: null, "--format=gnu");
        var (appChain, appTar) = await AddLayerAsync("app", parent: baseChain, "--format=posix");
        using var store = new DockerLayerStore(_root.Path);

        var baseBytes = await TarExport.ToBytesAsync(store, "sha256:" + baseChain, CancellationToken.None);
        var appBytes = await TarExport.ToBytesAsync(store, appChain, CancellationToken.None);

        Assert.Equal(Sha256(baseTar), Sha256(baseBytes));
        Assert.Equal(Sha256(appTar), Sha256(appBytes));
        using var export = new LayerExporter(store).Prepare(appChain, ["sha256:" + baseChain]);
        var survey = export.Survey(CancellationToken.None);
        Assert.Equal(appTar.Length, survey.TarSize);
        Assert.Equal("sha256:" + Sha256(appTar), survey.RecordedDiffId?.Value);
    }

    [Fact]
    public async Task LayersAreListedAndDescribedByChainId()
    {
        var (baseChain, _) = await AddLayerAsync("base", parent: null, "--format=gnu");
        await AddLayerAsync("app", parent: baseChain, "--format=gnu");
        using var store = new DockerLayerStore(_root.Path);

        var layers = store.List();
        var app = store.Describe(store.ParseId("sha256:" + ChainId("app")));

        Assert.Equal(new[] { ChainId("app"), ChainId("base") }.Order(StringComparer.Ordinal), layers.Select(l => l.Id));
        Assert.Equal([baseChain], app.Chain);
        Assert.Equal("docker", app.Layout);
        Assert.Throws<InvalidLayerIdException>(() => store.ParseId("app"));
    }

    [Fact]
    public async Task AFileAlteredOnDiskFailsTheExportNamingIt()
    {
        var (chain, tar) = await AddLayerAsync("base", parent: null, "--format=gnu");
        var victim = Path.Combine(_root.Path, "overlay2", CacheId("base"), "diff", "etc", "config.txt");
        var original = await File.ReadAllBytesAsync(victim);
        original[0] ^= 0x20;
        await File.WriteAllBytesAsync(victim, original);
        using var store = new DockerLayerStore(_root.Path);

        var failure = await Assert.ThrowsAsync<LayerExportException>(() => TarExport.ToBytesAsync(store, chain, CancellationToken.None));

        Assert.Contains("config.txt", failure.Path, StringComparison.Ordinal);
        Assert.NotEmpty(tar);
    }

    [Fact]
    public async Task AFileThatDiffersFromItsRecordWhileTheLayerIsNotChangingIsAnInconsistencyNotAChange()
    {
        var (chain, _) = await AddLayerAsync("base", parent: null, "--format=gnu");
        var victim = Path.Combine(_root.Path, "overlay2", CacheId("base"), "diff", "etc", "config.txt");
        var original = await File.ReadAllBytesAsync(victim);
        using var store = new DockerLayerStore(_root.Path);

        // Altered before the survey: every export fails the same way.
        original[0] ^= 0x20;
        await File.WriteAllBytesAsync(victim, original);
        var settled = await Assert.ThrowsAsync<LayerExportException>(() => TarExport.ToBytesAsync(store, chain, CancellationToken.None));

        // Altered between the survey and the read: a change, which the next survey sees.
        using var export = new LayerExporter(store).Prepare(chain, []);
        export.Survey(CancellationToken.None);
        original[0] ^= 0x40;
        await File.WriteAllBytesAsync(victim, original);
        var changing = await Assert.ThrowsAsync<LayerExportException>(() => export.WriteAsync(LayerCompression.Gzip, PipeWriter.Create(Stream.Null), expected: null, CancellationToken.None));

        var inconsistency = Assert.IsType<LayerStoreCorruptException>(settled.InnerException);
        Assert.Contains("etc/config.txt", inconsistency.Message, StringComparison.Ordinal);
        Assert.Contains("checksum", inconsistency.Message, StringComparison.Ordinal);
        Assert.IsType<LayerChangedException>(changing.InnerException);
    }

    [Fact]
    public async Task ByteRangesAreSlicesOfTheOriginalTarAndReadNoFileOutsideThem()
    {
        var (chain, tar) = await AddLayerAsync("base", parent: null, "--format=gnu");
        using var store = new DockerLayerStore(_root.Path);
        long[] edges = [0, 1, 511, 512, 1500, 10_000, 40_000, tar.Length / 2, tar.Length - 1024, tar.Length - 1];
        foreach (var start in edges)
        {
            foreach (var end in edges.Append(tar.Length).Where(e => e > start))
            {
                var part = await RangeAsync(store, chain, start, end);
                Assert.True(tar.AsSpan((int)start, (int)(end - start)).SequenceEqual(part), $"bytes {start}-{end}");
            }
        }

        // Alter the content (not the size) of the first file: a full export now fails its checksum, but a range
        // that ends before that file never opens it.
        var file = Path.Combine(_root.Path, "overlay2", CacheId("base"), "diff", "base.bin");
        var bytes = await File.ReadAllBytesAsync(file);
        bytes[^1] ^= 0xFF;
        await File.WriteAllBytesAsync(file, bytes);
        var firstFile = tar.AsSpan().IndexOf("./base.bin"u8);
        Assert.True(firstFile > 0);

        Assert.Equal(tar[..firstFile], await RangeAsync(store, chain, 0, firstFile));
        await Assert.ThrowsAsync<LayerExportException>(() => TarExport.ToBytesAsync(store, chain, CancellationToken.None));
    }

    [Fact]
    public async Task ASymlinkInPlaceOfTheRecordIsRefused()
    {
        var (chain, _) = await AddLayerAsync("base", parent: null, "--format=gnu");
        var record = _root.Combine($"image/overlay2/layerdb/sha256/{chain}/tar-split.json.gz");
        File.Move(record, _root.Combine("elsewhere.json.gz"));
        File.CreateSymbolicLink(record, _root.Combine("elsewhere.json.gz"));
        using var store = new DockerLayerStore(_root.Path);

        Assert.Throws<LayerRefusedException>(() => new LayerExporter(store).Prepare(chain, []));
    }

    [Fact]
    public async Task GzipRangesOfAReassembledLayerAreSlicesOfItsWholeGzipBody()
    {
        var (chain, _) = await AddLayerAsync("base", parent: null, "--format=gnu");
        using var store = new DockerLayerStore(_root.Path);
        var exporter = new LayerExporter(store, new CompressionOptions { Gzip = { BlockSize = 64 * 1024 } });
        var whole = new MemoryStream();
        GzipBlockIndex index;
        using (var export = exporter.Prepare(chain, []))
        {
            var writer = PipeWriter.Create(whole);
            index = (await export.WriteAsync(LayerCompression.Gzip, writer, expected: null, CancellationToken.None)).GzipIndex!;
            await writer.CompleteAsync();
        }

        var body = whole.ToArray();
        Assert.Equal(body.Length, index.Size);
        Assert.True(index.CompressedLengths.Count >= 2, "the layer's tar fits in one gzip block");
        foreach (var start in new long[] { 0, 11, index.Locate(body.Length / 2).BlockStart + 5, body.Length - 3 })
        {
            using var export = exporter.Prepare(chain, []);
            var range = await CollectAsync(output => export.WriteGzipRangeAsync(output, index, start, body.Length, CancellationToken.None));
            Assert.Equal(body[(int)start..], range);
        }
    }

    [Fact]
    public async Task AParentFileThatCannotBeOpenedIsThatLayersInconsistencyOnly()
    {
        var (baseChain, _) = await AddLayerAsync("base", parent: null, "--format=gnu");
        var (appChain, _) = await AddLayerAsync("app", parent: baseChain, "--format=gnu");
        var parent = _root.Combine($"image/overlay2/layerdb/sha256/{appChain}/parent");
        File.Delete(parent);
        Posix.MakeNode(parent, Posix.SocketType, 0, 0);
        using var store = new DockerLayerStore(_root.Path);

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(appChain)));
        var layers = store.List().ToDictionary(l => l.Id);

        Assert.Equal($"Layer '{appChain}': parent cannot be opened (No such device or address).", error.Message);
        Assert.Equal(error.Message, layers[appChain].Problem);
        Assert.Null(layers[baseChain].Problem);
    }

    [Fact]
    public async Task AMetadataValueThatIsNotOneIsQuotedOnlyAsFarAsAValidOneGoes()
    {
        var (chain, _) = await AddLayerAsync("base", parent: null, "--format=gnu");
        var content = new string('s', 60_000);
        await File.WriteAllTextAsync(_root.Combine($"image/overlay2/layerdb/sha256/{chain}/cache-id"), content);
        using var store = new DockerLayerStore(_root.Path);

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Open(LayerId.Parse(chain)));

        Assert.Equal($"Layer '{chain}': cache-id '{content[..160]}... (59840 more characters)' is not a directory name.", error.Message);
    }

    public void Dispose() => _root.Dispose();

    private static async Task<byte[]> RangeAsync(DockerLayerStore store, string id, long start, long end)
    {
        using var export = new LayerExporter(store).Prepare(id, []);
        return await CollectAsync(output => export.WriteTarRangeAsync(output, start, end, CancellationToken.None));
    }

    // What a writer puts into a pipe, read on the other side as it comes.
    private static async Task<byte[]> CollectAsync(Func<PipeWriter, Task> write)
    {
        var pipe = new Pipe();
        var reading = Task.Run(async () =>
        {
            using var output = new MemoryStream();
            await pipe.Reader.CopyToAsync(output);
            return output.ToArray();
        });
        await write(pipe.Writer);
        await pipe.Writer.CompleteAsync();
        return await reading;
    }

    // Builds one layer: a source tree, GNU tar's archive of it, tar-split's record and the unpacked files.
    private async Task<(string ChainId, byte[] Tar)> AddLayerAsync(string name, string? parent, string format)
    {
        var source = Directory.CreateDirectory(_root.Combine($"src-{name}")).FullName;
        Directory.CreateDirectory(Path.Combine(source, "etc"));
        await File.WriteAllTextAsync(Path.Combine(source, "etc", "config.txt"), $"layer {name}\n");
        await File.WriteAllBytesAsync(Path.Combine(source, name + ".bin"), RandomNumberGenerator.GetBytes(70_000));
        Directory.CreateDirectory(Path.Combine(source, "deep", new string('d', 120)));
        await File.WriteAllTextAsync(Path.Combine(source, "deep", new string('d', 120), new string('f', 110)), "long names\n");
        File.CreateSymbolicLink(Path.Combine(source, "link"), "etc/config.txt");

        var tarPath = _root.Combine($"{name}.tar");
        await ExternalTool.RunCheckedAsync("tar", "-cf", tarPath, format, "-C", source, ".");
        var tar = await File.ReadAllBytesAsync(tarPath);

        var chain = ChainId(name);
        var layerDb = Directory.CreateDirectory(_root.Combine($"image/overlay2/layerdb/sha256/{chain}")).FullName;
        var diff = Directory.CreateDirectory(_root.Combine($"overlay2/{CacheId(name)}/diff")).FullName;
        await ExternalTool.RunCheckedAsync("tar-split", "disasm", "--output", Path.Combine(layerDb, "tar-split.json.gz"), tarPath);
        await ExternalTool.RunCheckedAsync("tar", "-xf", tarPath, "-C", diff);
        await File.WriteAllTextAsync(Path.Combine(layerDb, "cache-id"), CacheId(name));
        await File.WriteAllTextAsync(Path.Combine(layerDb, "diff"), "sha256:" + Sha256(tar));
        if (parent is not null)
        {
            await File.WriteAllTextAsync(Path.Combine(layerDb, "parent"), "sha256:" + parent);
        }

        return (chain, tar);
    }

    private static string ChainId(string name) => Sha256(System.Text.Encoding.UTF8.GetBytes("chain:" + name));

    private static string CacheId(string name) => Sha256(System.Text.Encoding.UTF8.GetBytes("cache:" + name));

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
