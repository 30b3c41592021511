using System.Security.Cryptography;
using System.IO.Hashing;
using BenchmarkDotNet.Attributes;
using LayerExport.Core.Digest;
using LayerExport.Core.TarSplit;

namespace LayerExport.Benchmarks;

/// <summary>The sha256 every export computes, against the machine's single-stream ceiling.</summary>
/// <remarks>
/// Issue 3 has every export hash its tar (and a compressed body too); PERFORMANCE.md finds that CPU to be what keeps
/// issue 6's plain and zstd targets out of reach. <see cref="IncrementalHashInline"/> is the ceiling (OpenSSL on the
/// calling thread); <see cref="ConcurrentSha256Async"/> is what the exports use: the bytes copied into blocks and
/// hashed on a pool thread, so the copy is the whole cost on the writer's side. Beside them, the checks that run on the
/// writer's thread: the XXH3-128 of every tar (decision 0019) and the CRC-64 of a reassembled tar's files.
/// </remarks>
public class DigestBenchmarks
{
    private const int InputLength = 64 * 1024 * 1024;
    private const int AppendLength = 64 * 1024;

    private byte[] _input = null!;

    /// <summary>Generates the input.</summary>
    [GlobalSetup]
    public void Setup() => _input = SampleContent.Mixed(seed: 2, InputLength);

    /// <summary>SHA-256 in 64 KiB appends on the calling thread; returns the first byte of the digest.</summary>
    [Benchmark(Baseline = true)]
    public byte IncrementalHashInline()
    {
        using var sha256 = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        for (var offset = 0; offset < _input.Length; offset += AppendLength)
        {
            sha256.AppendData(_input.AsSpan(offset, AppendLength));
        }

        return sha256.GetHashAndReset()[0];
    }

    /// <summary>The exports' hash: 64 KiB appends copied aside and hashed on a pool thread, then the digest awaited.</summary>
    [Benchmark]
    public async Task<byte> ConcurrentSha256Async()
    {
        using var sha256 = new ConcurrentSha256();
        for (var offset = 0; offset < _input.Length; offset += AppendLength)
        {
            sha256.Append(_input.AsSpan(offset, AppendLength));
            await sha256.WaitForBacklogAsync(ConcurrentSha256.MaxPendingAtFlush, CancellationToken.None).ConfigureAwait(false);
        }

        return (await sha256.GetCurrentHashAsync(CancellationToken.None).ConfigureAwait(false))[0];
    }

    /// <summary>A reassembled file's CRC-64/ISO in 64 KiB appends, as the exports take it.</summary>
    [Benchmark]
    public ulong Crc64IsoAppend()
    {
        var crc = 0UL;
        for (var offset = 0; offset < _input.Length; offset += AppendLength)
        {
            crc = Crc64Iso.Append(crc, _input.AsSpan(offset, AppendLength));
        }

        return crc;
    }

    /// <summary>The same CRC through the tables alone, as before the folded form.</summary>
    [Benchmark]
    public ulong Crc64IsoByTables()
    {
        var crc = 0UL;
        for (var offset = 0; offset < _input.Length; offset += AppendLength)
        {
            crc = Crc64Iso.AppendByTables(crc, _input.AsSpan(offset, AppendLength));
        }

        return crc;
    }

    /// <summary>The tar's XXH3-128 in 64 KiB appends (decision 0019).</summary>
    [Benchmark]
    public UInt128 XxHash128Append()
    {
        var checksum = new XxHash128();
        for (var offset = 0; offset < _input.Length; offset += AppendLength)
        {
            checksum.Append(_input.AsSpan(offset, AppendLength));
        }

        return checksum.GetCurrentHashAsUInt128();
    }
}
