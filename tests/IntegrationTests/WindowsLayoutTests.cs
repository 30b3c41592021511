using System.Formats.Tar;
using System.Net;
using System.Text.Json;
using IntegrationTests.Support;

namespace IntegrationTests;

/// <summary>The API serves a <c>windows</c> store through the same endpoints: listing, chains, parent validation, tars, problems.</summary>
public sealed class WindowsLayoutTests : IAsyncLifetime
{
    private static readonly byte[] SecurityDescriptor = WindowsLayerFiles.SampleSecurityDescriptor;

    private readonly DirectoryInfo _root = Directory.CreateTempSubdirectory("windows-store-");
    private ApiServer? _server;

    private ApiServer Server => _server ?? throw new InvalidOperationException("not started");

    public Task InitializeAsync()
    {
        var root = _root.FullName;
        WindowsLayerFiles.AddBaseAndApp(root);

        var malformed = WindowsLayerFiles.AddLayer(root, "bad-tombstones", "base0");
        WindowsLayerFiles.AddTransportFiles(malformed, "");
        File.WriteAllText(Path.Combine(malformed, "tombstones.txt"), "Version 1.0\n");

        var truncated = WindowsLayerFiles.AddLayer(root, "truncated", "base0");
        WindowsLayerFiles.AddTransportFiles(truncated, "");
        WindowsLayerFiles.AddEncoded(Path.Combine(truncated, "Files", "cut.bin"), WindowsLayerFiles.ArchiveAttribute, SecurityDescriptor, new byte[100]);
        using (var cut = new FileStream(Path.Combine(truncated, "Files", "cut.bin"), FileMode.Open, FileAccess.Write))
        {
            cut.SetLength(cut.Length - 10);
        }

        _server = ApiServer.Start(root, settings: new Dictionary<string, string> { ["LayerStore:Layout"] = "windows" });
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        if (_server is not null)
        {
            await _server.DisposeAsync();
        }

        _root.Delete(recursive: true);
    }

    [Fact]
    public async Task LayersChainsAndTarsAreServedWithTheWindowsRecords()
    {
        using var client = Server.CreateClient();

        var layers = JsonDocument.Parse(await client.GetStringAsync(new Uri("/layers", UriKind.Relative))).RootElement;
        var description = JsonDocument.Parse(await client.GetStringAsync(new Uri("/layers/app", UriKind.Relative))).RootElement;
        using var response = await client.GetAsync(new Uri("/layers/app/tar?parent=base0", UriKind.Relative));

        Assert.Contains(layers.EnumerateArray(), static l => l.GetProperty("id").GetString() == "app" && l.GetProperty("parent").GetString() == "base0");
        Assert.Equal("windows", description.GetProperty("layout").GetString());
        Assert.Equal(["base0"], description.GetProperty("chain").EnumerateArray().Select(static e => e.GetString()));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var body = await response.Content.ReadAsByteArrayAsync();
        Assert.Equal(body.LongLength, response.Content.Headers.ContentLength);

        var entries = ReadEntries(body);
        Assert.Equal(["Files", "Files/.wh.old.txt", "Files/app.exe", "Hives", "Hives/System_Delta"], entries.Select(static e => e.Name));
        var app = Assert.IsType<PaxTarEntry>(entries[2].Entry);
        Assert.Equal("32", app.ExtendedAttributes["MSWINDOWS.fileattr"]);
        Assert.Equal(Convert.ToBase64String(SecurityDescriptor), app.ExtendedAttributes["MSWINDOWS.rawsd"]);
        Assert.Equal("MZ-app", new StreamReader(app.DataStream!).ReadToEnd());
    }

    [Fact]
    public async Task AParentOtherThanTheOneInLayerchainIsAConflict()
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/app/tar?parent=app", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.Conflict);
        Assert.Equal(["base0"], problem.GetProperty("recordedChain").EnumerateArray().Select(static e => e.GetString()));
    }

    [Fact]
    public async Task AMalformedTombstonesFileIsAProblemBeforeAnyByte()
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/bad-tombstones/tar", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:windows-layer-malformed", problem.GetProperty("type").GetString());
        Assert.Contains("tombstones.txt must start with a UTF-8 byte-order mark", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATruncatedBackupStreamIsAProblemNamingTheFileBeforeAnyByte()
    {
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/truncated/tar", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:layer-unreadable", problem.GetProperty("type").GetString());
        Assert.StartsWith("Files/cut.bin: truncated backup stream", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task BytesAfterTheArrayOfLayerchainAreAStoreInconsistency()
    {
        var layer = WindowsLayerFiles.AddLayer(_root.FullName, "trailing", "base0");
        WindowsLayerFiles.AddTransportFiles(layer, "");
        File.WriteAllText(Path.Combine(layer, "layerchain.json"), "[\"base0\"] this is not JSON {");
        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/trailing", UriKind.Relative));
        using var tar = await client.GetAsync(new Uri("/layers/trailing/tar", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:store-inconsistent", problem.GetProperty("type").GetString());
        Assert.StartsWith("Layer 'trailing': layerchain.json is not valid JSON", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.InternalServerError, tar.StatusCode);
    }

    [Fact]
    public async Task ALoneSurrogateInLayerchainIsAStoreInconsistencyOfThatLayerOnly()
    {
        var layer = WindowsLayerFiles.AddLayer(_root.FullName, "surrogate", "base0");
        WindowsLayerFiles.AddTransportFiles(layer, "");
        File.WriteAllText(Path.Combine(layer, "layerchain.json"), "[\"C:\\\\layers\\\\\\ud800\"]");
        using var client = Server.CreateClient();

        using var list = await client.GetAsync(new Uri("/layers", UriKind.Relative));
        using var response = await client.GetAsync(new Uri("/layers/surrogate/tar", UriKind.Relative));

        Assert.Equal(HttpStatusCode.OK, list.StatusCode);
        var layers = JsonDocument.Parse(await list.Content.ReadAsStringAsync()).RootElement;
        Assert.Contains(layers.EnumerateArray(), static l => l.GetProperty("id").GetString() == "surrogate" && l.GetProperty("problem").GetString()!.Contains("not valid text", StringComparison.Ordinal));
        Assert.Contains(layers.EnumerateArray(), static l => l.GetProperty("id").GetString() == "app");
        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:store-inconsistent", problem.GetProperty("type").GetString());
        Assert.Equal("Layer 'surrogate': layerchain.json element 0 is not valid text (a lone surrogate escape, or bytes that are not UTF-8).", problem.GetProperty("detail").GetString());
    }

    [Theory]
    [InlineData(1, long.MaxValue - 1023, "Files/huge0.bin")]
    [InlineData(4, 1L << 62, "Files/huge1.bin")]
    public async Task ATarLongerThanALongCanCountIsAProblemNamingTheEntryNotAWrappedLength(int count, long logicalSize, string failing)
    {
        var layer = WindowsLayerFiles.AddLayer(_root.FullName, "huge", "base0");
        WindowsLayerFiles.AddTransportFiles(layer, "");
        for (var i = 0; i < count; i++)
        {
            WindowsLayerFiles.AddHollowSparse(Path.Combine(layer, "Files", $"huge{i}.bin"), logicalSize);
        }

        using var client = Server.CreateClient();

        using var head = await client.SendAsync(new HttpRequestMessage(HttpMethod.Head, new Uri("/layers/huge/tar", UriKind.Relative)));
        using var range = await client.SendAsync(new HttpRequestMessage(HttpMethod.Get, new Uri("/layers/huge/tar", UriKind.Relative)) { Headers = { Range = new(8000, 14335) } });
        using var descriptor = await client.GetAsync(new Uri("/layers/huge/descriptor", UriKind.Relative));

        Assert.Equal(HttpStatusCode.InternalServerError, head.StatusCode);
        foreach (var response in new[] { range, descriptor })
        {
            var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
            Assert.Equal("urn:layer-export:problem:layer-unreadable", problem.GetProperty("type").GetString());
            Assert.StartsWith($"{failing}: the tar would be longer than 9223372036854775807 bytes", problem.GetProperty("detail").GetString(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task AFileOfZeroBytesIsAProblemAtItsFirstStreamHeader()
    {
        var layer = WindowsLayerFiles.AddLayer(_root.FullName, "zeros", "base0");
        WindowsLayerFiles.AddTransportFiles(layer, "");
        using (var file = File.Create(Path.Combine(layer, "Files", "zeros.bin")))
        {
            file.Write([0x20, 0, 0, 0]);
            file.SetLength(4 + (1 << 20) + 7);
        }

        using var client = Server.CreateClient();

        using var response = await client.GetAsync(new Uri("/layers/zeros/tar", UriKind.Relative));

        var problem = await ProblemAssert.IsProblemAsync(response, HttpStatusCode.InternalServerError);
        Assert.Equal("urn:layer-export:problem:layer-unreadable", problem.GetProperty("type").GetString());
        Assert.Equal("Files/zeros.bin: unknown stream ID 0", problem.GetProperty("detail").GetString());
    }

    private static List<(string Name, TarEntry Entry)> ReadEntries(byte[] tar)
    {
        var entries = new List<(string, TarEntry)>();
        using var reader = new TarReader(new MemoryStream(tar));
        while (reader.GetNextEntry(copyData: true) is { } entry)
        {
            entries.Add((entry.Name, entry));
        }

        return entries;
    }
}
