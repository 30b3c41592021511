using System.Net;
using System.Text;
using LayerExport.TestSupport;
using SidecarTests.Infrastructure;

namespace SidecarTests;

/// <summary>A range deep into the tar is served without reading the files before it, counted in bytes the server process read.</summary>
public sealed class SparseRangeReadTests
{
    private const string LayerId = "sparse";
    private const long GiB = 1024L * 1024 * 1024;
    private const long MiB = 1024L * 1024;
    private const long MarkerOffsetInThirdFile = 512 * MiB;
    private static readonly byte[] Marker = Encoding.ASCII.GetBytes("SIDECAR-MARKER!!");

    [Fact]
    public async Task RangeInsideTheThirdGibibyteFileReadsFarLessThanTheFilesBeforeIt()
    {
        using var work = new TemporaryDirectory("sidecar-sparse");
        var store = new NativeStoreBuilder(work.Combine("store"));
        var diff = store.AddLayer(LayerId);
        CreateSparseFile(Path.Combine(diff, "a.bin"), marker: false);
        CreateSparseFile(Path.Combine(diff, "b.bin"), marker: false);
        CreateSparseFile(Path.Combine(diff, "c.bin"), marker: true);
        using var server = await ApiServerProcess.StartAsync(store.Root, work.Combine("digests"));
        using var client = server.CreateClient();
        var path = Representation.Tar.TarPath(LayerId);

        // Three one-block ustar headers, three 1 GiB bodies (no padding), two end blocks.
        var size = 3 * 512 + 3 * GiB + 1024;
        var head = await client.FetchAsync(HttpMethod.Head, path);
        Assert.Equal(size, head.ContentLength);

        // Warm-up: the range code path runs once before anything is counted.
        var warmUp = await client.FetchAsync(path, r => r.Headers.TryAddWithoutValidation("Range", "bytes=0-1023"));
        Assert.Equal(HttpStatusCode.PartialContent, warmUp.Status);
        Assert.Equal(Encoding.ASCII.GetBytes("a.bin"), warmUp.Body[..5]);

        // The control: a 16 MiB range inside the second file shows up in the counter, so the counter sees file reads.
        var controlStart = 512 + GiB + 512 + 100 * MiB;
        var beforeControl = server.ReadIoCounters();
        var control = await client.FetchAsync(path, r => r.Headers.TryAddWithoutValidation("Range", $"bytes={controlStart}-{controlStart + 16 * MiB - 1}"));
        var afterControl = server.ReadIoCounters();
        Assert.Equal(HttpStatusCode.PartialContent, control.Status);
        Assert.Equal(16 * MiB, control.Body.LongLength);
        Assert.True(afterControl.ReadChars - beforeControl.ReadChars >= 16 * MiB, $"a 16 MiB range read only {afterControl.ReadChars - beforeControl.ReadChars} bytes: rchar does not count the server's file reads");

        var thirdData = 2 * (512 + GiB) + 512;
        var start = thirdData + MarkerOffsetInThirdFile - 16;
        var end = start + 63;
        var before = server.ReadIoCounters();
        var range = await client.FetchAsync(path, r => r.Headers.TryAddWithoutValidation("Range", $"bytes={start}-{end}"));
        var after = server.ReadIoCounters();

        Assert.Equal(HttpStatusCode.PartialContent, range.Status);
        Assert.Equal($"bytes {start}-{end}/{size}", range.ContentRange);
        var expected = new byte[64];
        Marker.CopyTo(expected, 16);
        Assert.Equal(expected, range.Body);
        var read = after.ReadChars - before.ReadChars;
        Assert.True(read < 64 * MiB, $"serving 64 bytes at offset {start} made the server read {read} bytes; the 2 GiB before it must not be read");
    }

    // 1 GiB of holes (no disk space used); the third file has a marker in the middle, so the range's position is checked too.
    private static void CreateSparseFile(string path, bool marker)
    {
        using (var file = new FileStream(path, FileMode.CreateNew, FileAccess.Write))
        {
            file.SetLength(GiB);
            if (marker)
            {
                file.Position = MarkerOffsetInThirdFile;
                file.Write(Marker);
            }
        }

        File.SetLastWriteTimeUtc(path, NativeStoreBuilder.FixedModificationTime);
    }
}
