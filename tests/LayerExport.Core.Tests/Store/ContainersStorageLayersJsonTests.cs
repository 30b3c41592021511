using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using LayerExport.Core.Store;
using LayerExport.Core.Tests.Support;

namespace LayerExport.Core.Tests.Store;

/// <summary>A hand-written <c>overlay-layers/layers.json</c> whose entries contradict themselves or each other.</summary>
public sealed class ContainersStorageLayersJsonTests : IDisposable
{
    private readonly TempDirectory _root = new();

    [Fact]
    public void ALayerListedTwiceIsInconsistentAndTheOthersAreNot()
    {
        Write(
            new { id = Id("twice") },
            new { id = Id("other") },
            new { id = Id("twice"), parent = Id("other") });
        using var store = Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(Id("twice"))));
        var other = store.Describe(LayerId.Parse(Id("other")));
        var listed = store.List().ToDictionary(l => l.Id);

        Assert.Equal($"Layer '{Id("twice")}': layers.json lists it more than once", error.Message);
        Assert.Empty(other.Chain);
        Assert.Equal(error.Message, listed[Id("twice")].Problem);
        Assert.Null(listed[Id("other")].Problem);
    }

    [Theory]
    [InlineData("sha256:zz")]
    [InlineData("sha256:0000000000000000000000000000000000000000000000000000000000000000\r\nX-Injected: yes")]
    [InlineData("sha256:0000000000000000000000000000000000000000000000000000000000000000 ")]
    [InlineData("not a digest")]
    public void ADiffDigestThatIsNotADigestIsInconsistent(string digest)
    {
        Write(new Dictionary<string, object> { ["id"] = Id("layer"), ["diff-digest"] = digest });
        using var store = Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Open(LayerId.Parse(Id("layer"))));

        Assert.Contains("diff-digest in layers.json is not a digest", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ALayerFlaggedIncompleteIsNeverExportedNorAreItsChildren()
    {
        // containers/storage lists a layer flagged incomplete before its files are unpacked, and one a pull cut short
        // keeps the flag until the next writer deletes it: its diff/ holds only part of the layer.
        Write(
            new { id = Id("pulling"), flags = new Dictionary<string, object> { ["incomplete"] = true } },
            new { id = Id("child"), parent = Id("pulling") },
            new { id = Id("done"), flags = new Dictionary<string, object> { ["incomplete"] = false } });
        await File.WriteAllTextAsync(_root.Combine($"overlay/{Id("pulling")}/diff/first-of-many.txt"), "unpacked so far\n");
        using var store = Open();

        var opened = Assert.Throws<LayerStoreCorruptException>(() => store.Open(LayerId.Parse(Id("pulling"))));
        var child = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(Id("child"))));
        var listed = store.List().ToDictionary(l => l.Id);

        var expected = $"Layer '{Id("pulling")}': layers.json flags it incomplete: containers/storage has not finished writing it "
            + "(a pull or commit under way, or one cut short, which containers/storage deletes)";
        Assert.Equal(expected, opened.Message);
        Assert.Equal(expected, child.Message);
        Assert.Equal(expected, listed[Id("pulling")].Problem);
        Assert.Null(listed[Id("done")].Problem);
        Assert.Empty(store.Describe(LayerId.Parse(Id("done"))).Chain);
    }

    [Fact]
    public void AParentThatIsNotAStringIsInconsistentNotABaseLayer()
    {
        Write(new { id = Id("child"), parent = 12 });
        using var store = Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(Id("child"))));

        Assert.Equal($"Layer '{Id("child")}': its parent in layers.json is not a string", error.Message);
        Assert.Equal(error.Message, Assert.Single(store.List()).Problem);
    }

    [Theory]
    [InlineData("\\ud800")]
    [InlineData("ba\xffse")]
    public void AParentThatIsNoTextIsThatLayersInconsistencyOnly(string parent)
    {
        Directory.CreateDirectory(_root.Combine("overlay-layers"));
        var json = $$"""[{"id":"{{Id("child")}}","parent":"{{parent}}","names":["friendly","{{parent}}"]},{"id":"{{Id("other")}}"}]""";
        File.WriteAllBytes(_root.Combine("overlay-layers/layers.json"), Encoding.Latin1.GetBytes(json));
        using var store = Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(store.ParseId("friendly")));
        var listed = store.List().ToDictionary(l => l.Id);

        Assert.Equal($"Layer '{Id("child")}': its parent in layers.json is not valid UTF-8 text", error.Message);
        Assert.Equal(error.Message, listed[Id("child")].Problem);
        Assert.Null(listed[Id("other")].Problem);
    }

    [Fact]
    public void AParentNotInLayersJsonIsQuotedOnlyAsFarAsAValidOneGoes()
    {
        var parent = new string('p', 1_000_000);
        Write(new { id = Id("child"), parent });
        using var store = Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(Id("child"))));

        Assert.DoesNotContain(parent, error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 400, $"the message is {error.Message.Length} characters long");
    }

    [Fact]
    public void ANameGivenToTwoLayersIsInconsistent()
    {
        Write(new { id = Id("a"), names = new List<string> { "shared" } }, new { id = Id("b"), names = new List<string> { "shared", "own" } });
        using var store = Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.ParseId("shared"));

        Assert.Equal($"layers.json gives the name 'shared' to 2 layers ({Id("a")}, {Id("b")}); names are unique.", error.Message);
        Assert.Equal(Id("b"), store.ParseId("own").Value);
    }

    [Fact]
    public async Task ANameHoldingASlashIsLookedUpInLayersJsonOnlyNeverFollowedAsAPath()
    {
        // containers/storage takes any text as a layer's name; one that reads as a path below overlay/ leads nowhere there.
        Write(new { id = Id("named"), names = new List<string> { "sub/dir", "../../escape" } });
        await File.WriteAllTextAsync(_root.Combine($"overlay/{Id("named")}/diff/named.txt"), "named\n");
        Directory.CreateDirectory(_root.Combine("overlay/sub/dir/diff"));
        await File.WriteAllTextAsync(_root.Combine("overlay/sub/dir/diff/decoy.txt"), "decoy\n");
        using var store = Open();

        var tar = await TarExport.ToBytesAsync(store, "sub/dir", CancellationToken.None);
        var unknown = Assert.Throws<InvalidLayerIdException>(() => store.ParseId("sub/other"));

        Assert.Equal(["named.txt"], DotNetTar.List(tar).Select(static m => m.Name));
        Assert.Equal(Id("named"), store.ParseId("../../escape").Value);
        Assert.Equal($"'sub/other' is not a layer ID: no layer in layers.json has that name, and IDs match {LayerId.Pattern}.", unknown.Message);
    }

    [Fact]
    public void ANameOfALayerWhoseIdIsNoLayerIdIsInconsistentNotAnInvalidRequest()
    {
        Write(new { id = "not a valid id", names = new List<string> { "friendly" } });
        using var store = Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.ParseId("friendly"));

        Assert.Contains("'not a valid id' is not a layer ID", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ALayersJsonReplacedByASymlinkIsInconsistentNotALayerRefusal()
    {
        Write(new { id = Id("layer") });
        File.Move(_root.Combine("overlay-layers/layers.json"), _root.Combine("overlay-layers/real.json"));
        File.CreateSymbolicLink(_root.Combine("overlay-layers/layers.json"), "real.json");
        using var store = Open();

        var listing = Assert.Throws<LayerStoreCorruptException>(store.List);
        Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(Id("layer"))));

        Assert.Equal("overlay-layers/layers.json is a symbolic link; it is not followed.", listing.Message);
    }

    [Fact]
    public void ALargeLayersJsonIsParsedOnceForEveryQuestionUntilItIsReplaced()
    {
        var layers = Enumerable.Range(0, 20_000).Select(i => new { id = Id($"layer{i}"), parent = i == 0 ? null : Id($"layer{i - 1}"), names = new[] { $"name{i}" } }).ToArray();
        Write(layers[0], layers[1]);
        File.WriteAllText(_root.Combine("overlay-layers/layers.json"), JsonSerializer.Serialize(layers));
        var size = new FileInfo(_root.Combine("overlay-layers/layers.json")).Length;
        using var store = Open();
        Assert.Equal(19_999, store.Describe(store.ParseId("name19999")).Chain.Count);

        var before = GC.GetAllocatedBytesForCurrentThread();
        for (var i = 0; i < 10; i++)
        {
            store.Describe(store.ParseId("name1"));
            store.Open(LayerId.Parse(Id("layer1"))).Dispose();
        }

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;

        // Replaced as containers/storage replaces it: a new file renamed over the old one.
        File.WriteAllText(_root.Combine("overlay-layers/layers.json.new"), JsonSerializer.Serialize(new[] { new { id = Id("layer1"), names = new List<string> { "name1" } } }));
        File.Move(_root.Combine("overlay-layers/layers.json.new"), _root.Combine("overlay-layers/layers.json"), overwrite: true);

        Assert.True(allocated < size, $"ten questions allocated {allocated} bytes, more than the {size}-byte file");
        Assert.Empty(store.Describe(store.ParseId("name1")).Chain);
        Assert.Throws<LayerNotFoundException>(() => store.Describe(LayerId.Parse(Id("layer0"))));
    }

    [Fact]
    public void ARootDeletedWhileOpenMakesTheStoreUnavailable()
    {
        Write(new { id = Id("layer") });
        using var store = Open();
        Directory.Delete(_root.Path, recursive: true);
        Directory.CreateDirectory(_root.Path);

        var error = Assert.Throws<LayerStoreUnavailableException>(store.List);

        Assert.Contains("overlay-layers/ was deleted", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ARecordThatRebuildsATarOfAnotherLengthThanLayersJsonRecordsIsInconsistent()
    {
        var (id, bytes) = await RecordLayerAsync(sparse: false);
        WriteRecordedLayer(id, bytes, withDigest: true, diffSize: bytes.LongLength + 1024);
        using var store = Open();

        var error = await Assert.ThrowsAsync<LayerStoreCorruptException>(() => TarExport.ToBytesAsync(store, id, CancellationToken.None));

        Assert.Contains($"rebuilds a tar of {bytes.Length} bytes where the store records {bytes.Length + 1024}", error.Message, StringComparison.Ordinal);
    }

    // GNU tar's PAX sparse files: tar-split keeps their data expanded, so the record would rebuild a longer tar.
    [Fact]
    public async Task ARecordOfASparseFileIsInconsistentWhateverSizeTheStoreRecords()
    {
        var (id, bytes) = await RecordLayerAsync(sparse: true);
        WriteRecordedLayer(id, bytes, withDigest: true, diffSize: bytes.LongLength);
        using var store = Open();

        var error = await Assert.ThrowsAsync<LayerStoreCorruptException>(() => TarExport.ToBytesAsync(store, id, CancellationToken.None));

        Assert.Contains("is a GNU sparse file, which tar-split records with its holes filled in", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(true, null)]
    [InlineData(true, -1L)]
    [InlineData(true, 0L)]
    [InlineData(false, 6L)]
    public async Task ADiffSizeThatIsNoLengthOrComesWithoutADigestIsNoPromise(bool withDigest, long? diffSize)
    {
        // -1 is what containers/storage writes for a size it does not know; before 1.56 a partial pull without a
        // diff-digest recorded the sum of the file sizes (here 6 bytes) instead of the tar's length.
        var (id, bytes) = await RecordLayerAsync(sparse: false);
        WriteRecordedLayer(id, bytes, withDigest, diffSize);
        using var store = Open();

        Assert.Null(Assert.Single(store.List()).Problem);
        Assert.Equal(bytes, await TarExport.ToBytesAsync(store, id, CancellationToken.None));
    }

    [Fact]
    public void AnIdIsNeverTakenForANameOfAnotherLayer()
    {
        // A name that has the form of an ID must not redirect requests for that ID to another layer.
        Write(new { id = Id("real") }, new { id = Id("other"), names = new List<string> { Id("real") } });
        using var store = Open();

        Assert.Equal(Id("real"), store.ParseId(Id("real")).Value);
    }

    [Fact]
    public void LayersAreListedInTheOrdinalOrderOfTheirIdsAndDescribedWithTheDriver()
    {
        Write(new { id = Id("b") }, new { id = Id("a"), parent = Id("b") }, new { id = Id("c") });
        using var store = Open();

        var description = store.Describe(LayerId.Parse(Id("a")));

        Assert.Equal([.. new[] { Id("a"), Id("b"), Id("c") }.Order(StringComparer.Ordinal)], store.List().Select(static l => l.Id));
        Assert.Equal([Id("b")], description.Chain);
        Assert.Equal("containers-storage/overlay", description.Layout);
    }

    [Fact]
    public void AParentNotInLayersJsonAndALoopAreNamedByTheLayers()
    {
        Write(
            new { id = Id("orphan"), parent = Id("gone") },
            new { id = Id("a"), parent = Id("b") },
            new { id = Id("b"), parent = Id("a") });
        using var store = Open();

        var missing = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(Id("orphan"))));
        var loop = Assert.Throws<LayerStoreCorruptException>(() => store.Describe(LayerId.Parse(Id("a"))));

        Assert.Equal($"Layer '{Id("orphan")}' names parent '{Id("gone")}', which is not in layers.json.", missing.Message);
        Assert.Equal($"The parent chain of layer '{Id("a")}' loops back to '{Id("a")}'.", loop.Message);
    }

    [Theory]
    [InlineData("short")]
    [InlineData("{0}0")]
    [InlineData("{1}")]
    public void ALayerWhoseIdIsNoDirectoryNameIsNeverOpened(string template)
    {
        // layers.json decides which directory is read; only an ID of 64 lowercase hex digits names one.
        var id = string.Format(System.Globalization.CultureInfo.InvariantCulture, template, Id("layer"), Id("layer").ToUpperInvariant());
        Write(new { id });
        using var store = Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Open(LayerId.Parse(id)));

        Assert.Equal($"Layer '{id}': its ID is not a directory name.", error.Message);
    }

    [Fact]
    public async Task AnOverlayLayerWithoutARecordIsExportedFromItsFiles()
    {
        Write(new { id = Id("layer") });
        await File.WriteAllTextAsync(_root.Combine($"overlay/{Id("layer")}/diff/file.txt"), "content\n");
        using var store = Open();

        using (var content = store.Open(LayerId.Parse(Id("layer"))))
        {
            Assert.Null(content.Recorded);
        }

        var tar = _root.Combine("layer.tar");
        await File.WriteAllBytesAsync(tar, await TarExport.ToBytesAsync(store, Id("layer"), CancellationToken.None));
        Assert.Equal(["file.txt"], await GnuTar.ListNamesAsync(tar));
    }

    [Fact]
    public void ARecordThatIsNoFileIsRefusedAndLeavesNoDescriptorOpen()
    {
        Write(new { id = Id("layer") });
        File.CreateSymbolicLink(_root.Combine($"overlay-layers/{Id("layer")}.tar-split.gz"), "/etc/passwd");
        var store = Open();

        var refused = Assert.Throws<LayerRefusedException>(() => store.Open(LayerId.Parse(Id("layer"))));
        var afterRefusal = OpenFileDescriptors.Under(_root.Path);
        store.Dispose();

        Assert.Equal($"Layer '{Id("layer")}': its tar-split record is not a regular file; refused.", refused.Message);
        Assert.Equal([_root.Path, _root.Combine("overlay-layers")], afterRefusal);
        Assert.Empty(OpenFileDescriptors.Under(_root.Path));
    }

    [Fact]
    public void ARootWithoutALayersDirectoryIsNoStoreAndLeavesNoDescriptorOpen()
    {
        Directory.CreateDirectory(_root.Combine("overlay"));

        var error = Assert.Throws<LayerStoreCorruptException>(Open);

        Assert.Equal($"{_root.Path} holds neither overlay-layers/ nor vfs-layers/: not a containers/storage root.", error.Message);
        Assert.Empty(OpenFileDescriptors.Under(_root.Path));
    }

    [Fact]
    public void AMissingOrUnreadableLayersJsonIsInconsistent()
    {
        Directory.CreateDirectory(_root.Combine("overlay-layers"));
        using var store = Open();

        var missing = Assert.Throws<LayerStoreCorruptException>(store.List);
        Directory.CreateDirectory(_root.Combine("overlay-layers/layers.json"));
        var directory = Assert.Throws<LayerStoreCorruptException>(store.List);
        Directory.Delete(_root.Combine("overlay-layers/layers.json"));
        File.WriteAllText(_root.Combine("overlay-layers/layers.json"), "[{");
        var malformed = Assert.Throws<LayerStoreCorruptException>(store.List);

        Assert.Equal("overlay-layers/layers.json is missing.", missing.Message);
        Assert.Equal("Layer 'layers.json': layers.json is not a regular file of at most 67108864 bytes.", directory.Message);
        Assert.StartsWith("overlay-layers/layers.json cannot be read (", malformed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ALayerWithoutAnIdMakesLayersJsonUnreadable()
    {
        Write(new { id = Id("layer") });
        File.WriteAllText(_root.Combine("overlay-layers/layers.json"), "[{\"id\":null}]");
        using var store = Open();

        var error = Assert.Throws<LayerStoreCorruptException>(store.List);

        Assert.Equal("layers.json has a layer without an ID.", error.Message);
    }

    [Fact]
    public void ANamesValueThatIsNoArrayGivesNoNames()
    {
        Write(new { id = Id("layer"), names = "solo" });
        using var store = Open();

        Assert.Null(Assert.Single(store.List()).Problem);
        Assert.Throws<InvalidLayerIdException>(() => store.ParseId("solo!"));
        Assert.Equal("solo", store.ParseId("solo").Value);
    }

    [Fact]
    public void ANullOrUndecodableNameIsNoNameAndAnEmptyRequestStaysInvalid()
    {
        // Go leaves a null element of []string as "", which names nothing a request can ask for: an empty ID or parent
        // must stay a client error, not resolve to whichever layer has such a name.
        Write(new { id = Id("layer") });
        File.WriteAllText(_root.Combine("overlay-layers/layers.json"), $$"""[{"id":"{{Id("layer")}}","names":[null,"\ud800","friendly"]}]""");
        using var store = Open();

        Assert.Throws<InvalidLayerIdException>(() => store.ParseId(""));
        Assert.Equal(Id("layer"), store.ParseId("friendly").Value);
    }

    [Fact]
    public void ADiffDigestOfAnotherAlgorithmIsNoFaultAndNoPromise()
    {
        Write(new Dictionary<string, object> { ["id"] = Id("layer"), ["diff-digest"] = "sha512:" + Id("x") + Id("y") });
        using var store = Open();

        using var content = store.Open(LayerId.Parse(Id("layer")));

        Assert.Null(Assert.Single(store.List()).Problem);
        Assert.Null(content.Recorded);
    }

    [Fact]
    public void ADiffDigestThatIsNoStringIsInconsistentAndAParentThatIsNoneIsNamedFirst()
    {
        Write(
            new Dictionary<string, object> { ["id"] = Id("digest"), ["diff-digest"] = 12 },
            new Dictionary<string, object> { ["id"] = Id("both"), ["diff-digest"] = 12, ["parent"] = 12 });
        using var store = Open();

        var problems = store.List().ToDictionary(static l => l.Id, static l => l.Problem);

        Assert.Equal($"Layer '{Id("digest")}': its diff-digest in layers.json is not a string", problems[Id("digest")]);
        Assert.Equal($"Layer '{Id("both")}': its parent in layers.json is not a string", problems[Id("both")]);
    }

    [Fact]
    public void AnEmptyParentIsABaseLayerAndADiffSizeThatIsNoNumberIsNoFault()
    {
        Write(new Dictionary<string, object> { ["id"] = Id("layer"), ["parent"] = "", ["diff-size"] = "12" });
        using var store = Open();

        var listed = Assert.Single(store.List());

        Assert.Null(listed.Problem);
        Assert.Null(listed.Parent);
        Assert.Empty(store.Describe(LayerId.Parse(Id("layer"))).Chain);
    }

    [Fact]
    public void AVfsParentThatIsNoDirectoryNameIsNeverOpened()
    {
        // Without a record a vfs layer is compared with its parent's tree, whose directory layers.json names.
        Directory.CreateDirectory(_root.Combine("vfs-layers"));
        Directory.CreateDirectory(_root.Combine($"vfs/dir/{Id("child")}"));
        File.WriteAllText(_root.Combine("vfs-layers/layers.json"), JsonSerializer.Serialize(new[] { new { id = Id("child"), parent = "../../../etc" } }));
        using var store = Open();

        var error = Assert.Throws<LayerStoreCorruptException>(() => store.Open(LayerId.Parse(Id("child"))));

        Assert.Equal($"Layer '{Id("child")}' names parent '../../../etc', which is not a directory name.", error.Message);
    }

    // A layer made of one 4 MiB file of holes around the word "middle", with the tar-split record of its tar.
    private async Task<(string Id, byte[] Tar)> RecordLayerAsync(bool sparse)
    {
        var id = Id("recorded");
        var layerDirectory = _root.Combine($"overlay/{id}/diff");
        Directory.CreateDirectory(layerDirectory);
        var source = _root.Combine("source");
        Directory.CreateDirectory(source);
        await using (var file = File.Create(Path.Combine(source, "holes.bin")))
        {
            file.SetLength(4 * 1024 * 1024);
            file.Write("middle"u8);
        }

        var tar = _root.Combine("layer.tar");
        await ExternalTool.RunCheckedAsync("tar", [.. sparse ? ["--sparse"] : Array.Empty<string>(), "--format=pax", "-C", source, "-cf", tar, "holes.bin"]);
        Directory.CreateDirectory(_root.Combine("overlay-layers"));
        await ExternalTool.RunCheckedAsync("tar-split", "disasm", "--no-stdout", "--output", _root.Combine($"overlay-layers/{id}.tar-split.gz"), tar);
        await ExternalTool.RunCheckedAsync("tar", "-C", layerDirectory, "-xf", tar);
        return (id, await File.ReadAllBytesAsync(tar));
    }

    private void WriteRecordedLayer(string id, byte[] tar, bool withDigest, long? diffSize)
    {
        var layer = new Dictionary<string, object> { ["id"] = id };
        if (withDigest)
        {
            layer["diff-digest"] = "sha256:" + Convert.ToHexStringLower(SHA256.HashData(tar));
        }

        if (diffSize is { } size)
        {
            layer["diff-size"] = size;
        }

        File.WriteAllText(_root.Combine("overlay-layers/layers.json"), JsonSerializer.Serialize(new[] { layer }));
    }

    public void Dispose() => _root.Dispose();

    private static string Id(string name) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes("layer:" + name)));

    private ContainersStorageLayerStore Open() => new(_root.Path);

    private void Write(params object[] layers)
    {
        Directory.CreateDirectory(_root.Combine("overlay-layers"));
        File.WriteAllText(_root.Combine("overlay-layers/layers.json"), JsonSerializer.Serialize(layers));
        foreach (var id in layers.Select(l => JsonSerializer.SerializeToElement(l).GetProperty("id").GetString()!))
        {
            Directory.CreateDirectory(_root.Combine($"overlay/{id}/diff"));
        }
    }
}
