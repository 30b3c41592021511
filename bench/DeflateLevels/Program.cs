// Deflate alone on one thread, at one level, over one file: our block gzip, or libdeflate over the same blocks.
// Usage: DeflateLevels <ours|libdeflate> <level> <file>; prints the compressed size in bytes.
// run-deflate-levels.py measures the process's CPU time and sets these beside pigz at the same level.
using LayerExport.Benchmarks;
using LayerExport.Core.Compression;

// The server's default block size (GzipOptions.BlockSize).
const int BlockSize = 1024 * 1024;

var encoder = args[0];
var level = int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture);
await using var input = new FileStream(args[2], FileMode.Open, FileAccess.Read, FileShare.Read, 1, FileOptions.SequentialScan);
var size = encoder switch
{
    "ours" => await OursAsync(input, level),
    "libdeflate" => LibDeflate.Compress(input, level, BlockSize),
    _ => throw new ArgumentException($"unknown encoder {encoder}: ours or libdeflate"),
};
Console.WriteLine(size);

static async Task<long> OursAsync(Stream input, int level)
{
    await using var output = new CountingStream();
    var options = new CompressionOptions { Threads = 1, Gzip = new GzipOptions { Level = level, BlockSize = BlockSize } };
    await using (var stage = CompressionStage.Create(LayerCompression.Gzip, output, options))
    {
        // 64 KiB writes, as the tar writer's pipe hands them over.
        await input.CopyToAsync(stage.Input, 64 * 1024);
        await stage.FinishAsync(CancellationToken.None);
    }

    return output.BytesWritten;
}
