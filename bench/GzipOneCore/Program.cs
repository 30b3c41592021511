// One core: our block gzip with one thread against .NET's plain single-threaded GZipStream, same level, same input.
// Usage: dotnet run -c Release --project bench/GzipOneCore -- <input file> [level] [rounds]
using System.Diagnostics;
using System.IO.Compression;
using LayerExport.Core.Compression;

var input = File.ReadAllBytes(args[0]);
var level = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 2;
var rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;
var block = new List<double>();
var plain = new List<double>();
long blockSize = 0, plainSize = 0;
for (var round = 0; round < rounds; round++)
{
    // Interleaved, so machine noise hits both alike.
    var (seconds, size) = await TimeAsync(async output =>
    {
        await using var stage = CompressionStage.Create(LayerCompression.Gzip, output, new CompressionOptions { Threads = 1, Gzip = new GzipOptions { Level = level } });
        await WriteAsync(stage.Input, input);
        await stage.FinishAsync(CancellationToken.None);
    });
    block.Add(seconds);
    blockSize = size;
    (seconds, size) = await TimeAsync(async output =>
    {
        await using var gzip = new GZipStream(output, new ZLibCompressionOptions { CompressionLevel = level }, leaveOpen: true);
        await WriteAsync(gzip, input);
    });
    plain.Add(seconds);
    plainSize = size;
}

double Median(List<double> values) => values.Order().ElementAt(values.Count / 2);
Console.WriteLine($"input {input.Length} bytes, level {level}, {rounds} interleaved rounds, medians");
Console.WriteLine($"BlockGzipStream, 1 thread : {input.Length / Median(block) / 1e6,7:F1} MB/s, {blockSize} bytes");
Console.WriteLine($"GZipStream (plain)        : {input.Length / Median(plain) / 1e6,7:F1} MB/s, {plainSize} bytes");
Console.WriteLine($"ratio (ours / plain)      : {Median(plain) / Median(block):F2}x throughput, {(double)blockSize / plainSize:F4}x size");

static async Task<(double Seconds, long Size)> TimeAsync(Func<Stream, Task> compress)
{
    using var output = new MemoryStream();
    var clock = Stopwatch.StartNew();
    await compress(output);
    return (clock.Elapsed.TotalSeconds, output.Length);
}

static async Task WriteAsync(Stream stream, byte[] input)
{
    // 64 KiB writes, as the tar writer's pipe hands them over.
    for (var offset = 0; offset < input.Length; offset += 65536)
    {
        await stream.WriteAsync(input.AsMemory(offset, Math.Min(65536, input.Length - offset)));
    }
}
