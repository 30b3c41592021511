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
        var notAChainId = Assert.Throws<InvalidLayerIdException>(() => store.ParseId("app"));

        // "app" has the form of a native ID: the detail must give the form this layout takes.
        Assert.Equal("'app' is not a layer ID: IDs are chain IDs, 64 lowercase hex digits, with or without 'sha256:'.", notAChainId.Message);
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

        // Altered between the survey and the read: a change, which the next survey sees. A clock that stamps in jiffies
        // may give the rewrite the times of the first one, so its mtime is set apart.
        using var export = new LayerExporter(store).Prepare(chain, []);
        export.Survey(CancellationToken.None);
        original[0] ^= 0x40;
        await File.WriteAllBytesAsync(victim, original);
        Posix.SetTimes(victim, 1_600_000_000, 0, 1_600_000_000, 0);
        var changing = await Assert.ThrowsAsync<LayerExportException>(() => export.WriteAsync(LayerCompression.Gzip, PipeWriter.Create(Stream.Null), expected: null, CancellationToken.None));

        var inconsistency = Assert.IsType<LayerStoreCorruptException>(settled.InnerException);
        Assert.Contains("etc/config.txt", inconsistency.Message, StringComparison.Ordinal);
        Assert.Contains("checksum", inconsistency.Message, StringComparison.Ordinal);
        Assert.IsType<LayerChangedException>(changing.InnerException);
    }

    [Fact]
    public async Task AFileTheRecordHasContentForThatIsMissingOrOfAnotherSizeFailsTheSurvey()
    {
        var (chain, _) = await AddLayerAsync("base", parent: null, "--format=gnu");
        var diff = Path.Combine(_root.Path, "overlay2", CacheId("base"), "diff");
        using var store = new DockerLayerStore(_root.Path);
        using var export = new LayerExporter(store).Prepare(chain, []);

        File.Delete(Path.Combine(diff, "etc", "config.txt"));
        var missing = Assert.Throws<LayerStoreCorruptException>(() => export.Survey(CancellationToken.None));
        await File.WriteAllTextAsync(Path.Combine(diff, "etc", "config.txt"), "layer base, longer now\n");
        var resized = Assert.Throws<LayerStoreCorruptException>(() => export.Survey(CancellationToken.None));

        Assert.Contains("etc/config.txt: cannot open 'config.txt' in the unpacked layer (config.txt: No such file or directory)", missing.Message, StringComparison.Ordinal);
        Assert.Contains("etc/config.txt: is 23 bytes on disk, the tar-split record says 11", resized.Message, StringComparison.Ordinal);
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

        var refused = Assert.Throws<LayerRefusedException>(() => new LayerExporter(store).Prepare(chain, []));

        Assert.Equal($"Layer '{chain}': tar-split.json.gz is a symbolic link; refused.", refused.Message);
    }

    [Fact]
    public async Task ARecordThatIsNoFileIsInconsistent()
    {
        var (chain, _) = await AddLayerAsync("base", parent: null, "--format=gnu");
        var record = _root.Combine($"image/overlay2/layerdb/sha256/{chain}/tar-split.json.gz");
        File.Delete(record);
        Directory.CreateDirectory(record);
        using var store = new DockerLayerStore(_root.Path);

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Open(LayerId.Parse(chain)));

        Assert.Equal($"Layer '{chain}': tar-split.json.gz is not a regular file.", error.Message);
    }

    [Fact]
    public async Task ALayerWhoseRecordIsGoneIsExportedFromItsFiles()
    {
        var (chain, tar) = await AddLayerAsync("base", parent: null, "--format=gnu");
        File.Delete(_root.Combine($"image/overlay2/layerdb/sha256/{chain}/tar-split.json.gz"));
        using var store = new DockerLayerStore(_root.Path);

        using var export = new LayerExporter(store).Prepare(chain, []);
        var survey = export.Survey(CancellationToken.None);
        var generated = _root.Combine("generated.tar");
        await File.WriteAllBytesAsync(generated, await TarExport.ToBytesAsync(store, chain, CancellationToken.None));

        Assert.Null(survey.RecordedDiffId);
        Assert.Contains("etc/config.txt", await GnuTar.ListNamesAsync(generated));
        Assert.NotEqual(Sha256(tar), Sha256(await File.ReadAllBytesAsync(generated)));
    }

    [Fact]
    public async Task ADiffThatIsNoSha256DigestIsInconsistent()
    {
        // Seven characters that are not "sha256:" before 64 hex digits: neither half of the check may pass alone.
        var (chain, _) = await AddLayerAsync("base", parent: null, "--format=gnu");
        var digest = "sha512:" + ChainId("other");
        await File.WriteAllTextAsync(_root.Combine($"image/overlay2/layerdb/sha256/{chain}/diff"), digest);
        using var store = new DockerLayerStore(_root.Path);

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Open(LayerId.Parse(chain)));

        Assert.Equal($"Layer '{chain}': diff '{digest}' is not a sha256 digest.", error.Message);
    }

    [Fact]
    public void ALayerWithoutACacheIdIsInconsistent()
    {
        var chain = AddEntry("base", parent: null);
        using var store = new DockerLayerStore(_root.Path);

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Open(LayerId.Parse(chain)));

        Assert.Equal($"Layer '{chain}' has no cache-id.", error.Message);
    }

    [Theory]
    [InlineData("../../../etc")]
    [InlineData("{0}/../../../etc")]
    [InlineData("{0}-mount")]
    [InlineData("{0}-init-x")]
    public void ACacheIdThatIsNoDirectoryNameOfTheStoreIsInconsistent(string template)
    {
        var chain = AddEntry("base", parent: null);
        var cacheId = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, CacheId("base"));
        File.WriteAllText(_root.Combine($"image/overlay2/layerdb/sha256/{chain}/cache-id"), cacheId);
        using var store = new DockerLayerStore(_root.Path);

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Open(LayerId.Parse(chain)));

        Assert.EndsWith("is not a directory name.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ANameInTheLayerDatabaseThatIsNoChainIdIsNotALayer()
    {
        var chain = AddEntry("base", parent: null);
        AddEntry("stray", parent: null, name: "stray");
        AddEntry("upper", parent: null, name: ChainId("upper").ToUpperInvariant());
        AddEntry("longer", parent: null, name: ChainId("longer") + "0");
        using var store = new DockerLayerStore(_root.Path);

        Assert.Equal([chain], store.List().Select(static l => l.Id));
    }

    [Fact]
    public void ADescriptionNamesEveryParentAndAMissingOneByTheLayerThatNamesIt()
    {
        var base_ = AddEntry("base", parent: null);
        var mid = AddEntry("mid", parent: base_);
        var top = AddEntry("top", parent: mid);
        var orphan = AddEntry("orphan", parent: ChainId("gone"));
        var stranded = AddEntry("stranded", parent: orphan);
        using var store = new DockerLayerStore(_root.Path);

        var chain = store.Describe(LayerId.Parse(top)).Chain;
        var direct = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(orphan)));
        var further = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(stranded)));

        Assert.Equal([mid, base_], chain);
        Assert.Equal($"Layer '{orphan}' names parent '{ChainId("gone")}', which is not in the layer database.", direct.Message);
        Assert.Equal(direct.Message, further.Message);
    }

    [Fact]
    public void AParentChainThatLoopsIsInconsistentAndNamesTheFirstLayerSeenAgain()
    {
        var a = ChainId("a");
        var b = AddEntry("b", parent: a);
        AddEntry("a", parent: b);
        using var store = new DockerLayerStore(_root.Path);

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(a)));

        Assert.Equal($"The parent chain of layer '{a}' loops back to '{a}'.", error.Message);
    }

    [Fact]
    public void AParentThatIsNoChainIdIsInconsistent()
    {
        var chain = AddEntry("child", parent: "../../../etc");
        using var store = new DockerLayerStore(_root.Path);

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(chain)));

        Assert.Equal($"Layer '{chain}': parent 'sha256:../../../etc' is not a chain ID.", error.Message);
    }

    [Fact]
    public void ASymlinkedLayerDatabaseEntryIsRefused()
    {
        var chain = AddEntry("base", parent: null);
        var linked = ChainId("linked");
        Directory.CreateSymbolicLink(_root.Combine($"image/overlay2/layerdb/sha256/{linked}"), _root.Combine($"image/overlay2/layerdb/sha256/{chain}"));
        using var store = new DockerLayerStore(_root.Path);

        var refused = Assert.Throws<LayerRefusedException>(() => store.Open(LayerId.Parse(linked)));

        Assert.Equal($"Layer '{linked}': its layerdb entry is a symbolic link or not a directory; refused.", refused.Message);
    }

    [Fact]
    public void AnUnknownLayerIsNotFoundAndADeletedLayerDatabaseMakesTheStoreUnavailable()
    {
        AddEntry("base", parent: null);
        using var store = new DockerLayerStore(_root.Path);
        Assert.Throws<LayerNotFoundException>(() => store.Open(LayerId.Parse(ChainId("unknown"))));
        Directory.Delete(_root.Path, recursive: true);
        Directory.CreateDirectory(_root.Path);

        var opening = Assert.Throws<LayerStoreUnavailableException>(() => store.Open(LayerId.Parse(ChainId("unknown"))));
        var listing = Assert.Throws<LayerStoreUnavailableException>(store.List);

        Assert.Equal("The layer store cannot be read: image/overlay2/layerdb/sha256 was deleted; restart the server once the store is back.", opening.Message);
        Assert.Equal("The layer store cannot be listed: image/overlay2/layerdb/sha256 was deleted; restart the server once the store is back.", listing.Message);
    }

    [Fact]
    public async Task AFailedOpenAndADisposedStoreLeaveNoDescriptorOpen()
    {
        // Each request for a broken layer would otherwise keep a descriptor until the server runs out of them.
        var (badCacheId, _) = await AddLayerAsync("base", parent: null, "--format=gnu");
        var (badDiff, _) = await AddLayerAsync("app", parent: badCacheId, "--format=gnu");
        await File.WriteAllTextAsync(_root.Combine($"image/overlay2/layerdb/sha256/{badCacheId}/cache-id"), "..");
        await File.WriteAllTextAsync(_root.Combine($"image/overlay2/layerdb/sha256/{badDiff}/diff"), "not a digest");
        var store = new DockerLayerStore(_root.Path);

        Assert.Throws<LayerStoreCorruptException>(() => store.Open(LayerId.Parse(badCacheId)));
        Assert.Throws<LayerStoreCorruptException>(() => store.Open(LayerId.Parse(badDiff)));
        var afterFailures = OpenFileDescriptors.Under(_root.Path);
        store.Dispose();

        Assert.Equal([_root.Combine("image/overlay2/layerdb/sha256"), _root.Combine("overlay2")], afterFailures);
        Assert.Empty(OpenFileDescriptors.Under(_root.Path));
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

        Assert.Equal($"Layer '{appChain}': parent is not a regular file of at most 65536 bytes.", error.Message);
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

    // The fatal start-up line must name the directory taken for a data-root, and the refusal close what it opened.
    [Theory]
    [InlineData(false, "image/overlay2/layerdb/sha256")]
    [InlineData(true, "overlay2")]
    public void ARootWithoutTheLayerDatabaseOrOverlay2IsNoDataRootAndLeavesNoDescriptorOpen(bool withLayerDb, string missing)
    {
        if (withLayerDb)
        {
            Directory.CreateDirectory(_root.Combine("image/overlay2/layerdb/sha256"));
        }

        var error = Assert.Throws<LayerStoreCorruptException>(() => new DockerLayerStore(_root.Path));

        Assert.Equal($"{_root.Path} holds no {missing}/: not the data-root of a Docker engine with the overlay2 storage driver.", error.Message);
        Assert.Empty(OpenFileDescriptors.Under(_root.Path));
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

    private Task<(string ChainId, byte[] Tar)> AddLayerAsync(string name, string? parent, string format) =>
        DockerDataRoot.AddLayerAsync(_root.Path, name, parent, format);

    // A layer database entry without files: enough to list and describe it, not to export it.
    private string AddEntry(string label, string? parent, string? name = null)
    {
        var entry = name ?? ChainId(label);
        var layerDb = Directory.CreateDirectory(_root.Combine($"image/overlay2/layerdb/sha256/{entry}")).FullName;
        if (parent is not null)
        {
            File.WriteAllText(Path.Combine(layerDb, "parent"), "sha256:" + parent);
        }

        Directory.CreateDirectory(_root.Combine("overlay2"));
        return entry;
    }

    private static string ChainId(string name) => DockerDataRoot.ChainId(name);

    private static string CacheId(string name) => DockerDataRoot.CacheId(name);

    private static string Sha256(byte[] bytes) => Convert.ToHexStringLower(SHA256.HashData(bytes));
}
