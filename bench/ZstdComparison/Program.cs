using System.Diagnostics;
using System.Reflection;
using System.Security.Cryptography;
using ZstdComparison;
using ZstdSharp;

// Usage: ZstdComparison <tar> [rounds] [server-body.tar.zst]
// Compresses the tar (held in memory) with every variant in interleaved rounds, 64 KiB writes, into memory.
if (args.Length is < 1 or > 3)
{
    Console.Error.WriteLine("usage: ZstdComparison <tar> [rounds] [server-body.tar.zst]");
    return 2;
}

const int Chunk = 64 * 1024;
var input = File.ReadAllBytes(args[0]);
var rounds = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
var output = new OutputBuffer(input.Length + (input.Length >> 3) + (1 << 20));
IZstdVariant[] variants =
[
    new ManagedZstd(1), new ManagedZstd(2), new NativeZstd(1), new NativeZstd(2), new ManagedZstdThroughPipe(1), new ManagedZstdThroughPipe(2),
];

var zstdSharpVersion = typeof(Compressor).Assembly.GetCustomAttribute<AssemblyInformationalVersionAttribute>()?.InformationalVersion ?? "?";
var portedZstd = ZstdSharp.Unsafe.Methods.ZSTD_versionNumber();
Console.WriteLine($"input {args[0]}: {input.Length} bytes; ZstdSharp.Port {zstdSharpVersion} (zstd {portedZstd / 10000}.{portedZstd / 100 % 100}.{portedZstd % 100}); libzstd {LibZstd.Version}; {Environment.ProcessorCount} cores; {rounds} rounds + 1 warm-up; {Chunk}-byte writes");

var digests = new Dictionary<IZstdVariant, (string Sha256, int Length)>();
foreach (var variant in variants)
{
    output.Reset();
    variant.Compress(input, Chunk, output);
    if (!DecompressesTo(output.OpenRead(), input))
    {
        Console.Error.WriteLine($"{variant.Name}: output does not decompress to the input");
        return 1;
    }

    digests[variant] = (Convert.ToHexStringLower(SHA256.HashData(output.Written)), output.Written.Length);
}

var seconds = variants.ToDictionary(v => v, _ => new List<double>());
var cpu = variants.ToDictionary(v => v, _ => new List<double>());
var process = Process.GetCurrentProcess();
for (var round = 0; round < rounds; round++)
{
    for (var i = 0; i < variants.Length; i++)
    {
        var variant = variants[(i + round) % variants.Length];
        output.Reset();
        process.Refresh();
        var cpuBefore = process.TotalProcessorTime;
        var clock = Stopwatch.StartNew();
        variant.Compress(input, Chunk, output);
        clock.Stop();
        process.Refresh();
        seconds[variant].Add(clock.Elapsed.TotalSeconds);
        cpu[variant].Add((process.TotalProcessorTime - cpuBefore).TotalSeconds);
    }
}

string? serverDigest = args.Length > 2 ? Convert.ToHexStringLower(SHA256.HashData(File.ReadAllBytes(args[2]))) : null;
Console.WriteLine();
Console.WriteLine("| variant | median s | MB/s | CPU s | output bytes | output/input | sha256 (first 12) | identical to |");
Console.WriteLine("|---|---|---|---|---|---|---|---|");
foreach (var variant in variants)
{
    var median = Median(seconds[variant]);
    var (sha, length) = digests[variant];
    var same = variants.Where(v => v != variant && digests[v].Sha256 == sha).Select(v => v.Name).ToList();
    if (sha == serverDigest)
    {
        same.Add("the server's body");
    }

    Console.WriteLine(FormattableString.Invariant(
        $"| {variant.Name} | {median:F3} | {input.Length / 1e6 / median:F0} | {Median(cpu[variant]):F2} | {length} | {(double)length / input.Length:F4} | {sha[..12]} | {(same.Count == 0 ? "-" : string.Join("; ", same))} |"));
}

if (serverDigest is not null && !digests.Values.Any(d => d.Sha256 == serverDigest))
{
    Console.WriteLine($"\nthe server's body ({serverDigest[..12]}) matches no variant");
}

return 0;

static bool DecompressesTo(Stream compressed, byte[] expected)
{
    using var decompressed = new DecompressionStream(compressed);
    var buffer = new byte[1 << 20];
    var offset = 0;
    int read;
    while ((read = decompressed.Read(buffer)) > 0)
    {
        if (offset + read > expected.Length || !buffer.AsSpan(0, read).SequenceEqual(expected.AsSpan(offset, read)))
        {
            return false;
        }

        offset += read;
    }

    return offset == expected.Length;
}

static double Median(List<double> values)
{
    var sorted = values.Order().ToList();
    return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[(sorted.Count / 2) - 1] + sorted[sorted.Count / 2]) / 2;
}
