using System.Buffers;
using System.Text;
using BenchmarkDotNet.Attributes;
using LayerExport.Core.Tar;

namespace LayerExport.Benchmarks;

/// <summary>The tar header encoder on the headers a layer typically has, plain ustar and PAX.</summary>
public class TarHeaderEncoderBenchmarks
{
    private readonly ArrayBufferWriter<byte> _output = new(64 * 1024);
    private TarEntryHeader _header = null!;

    /// <summary>The kinds of header measured.</summary>
    public enum HeaderKind
    {
        /// <summary>A regular file with a short name: one ustar block.</summary>
        ShortName,

        /// <summary>A 150-byte path that fits ustar's prefix and name fields.</summary>
        PrefixSplitName,

        /// <summary>A 300-byte path: a PAX <c>path</c> record.</summary>
        PaxLongName,

        /// <summary>A symlink whose 180-byte target needs a PAX <c>linkpath</c> record.</summary>
        PaxLongLinkTarget,

        /// <summary>A file with <c>security.capability</c> and a <c>user.*</c> xattr: PAX <c>SCHILY.xattr</c> records.</summary>
        PaxXattrs,
    }

    /// <summary>The header encoded in this run.</summary>
    [ParamsAllValues]
    public HeaderKind Kind { get; set; }

    /// <summary>Builds the header of <see cref="Kind"/>.</summary>
    [GlobalSetup]
    public void Setup() => _header = Kind switch
    {
        HeaderKind.ShortName => File("app/node_modules/core-util-12/lib/index.js"),
        HeaderKind.PrefixSplitName => File(DeepPath(150)),
        HeaderKind.PaxLongName => File(DeepPath(300)),
        HeaderKind.PaxLongLinkTarget => File("var/lib/app/sym042") with
        {
            Type = TarEntryType.SymbolicLink,
            Size = 0,
            Mode = Convert.ToInt64("777", 8),
            LinkName = Encoding.UTF8.GetBytes("../../" + DeepPath(174)),
        },
        HeaderKind.PaxXattrs => File("usr/bin/ping") with
        {
            Mode = Convert.ToInt64("755", 8),
            Xattrs =
            [
                new Xattr(Encoding.UTF8.GetBytes("security.capability"), [1, 0, 0, 2, 0, 32, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
                new Xattr(Encoding.UTF8.GetBytes("user.comment"), Encoding.UTF8.GetBytes("benchmark")),
            ],
        },
        _ => throw new InvalidOperationException($"unknown header kind {Kind}"),
    };

    /// <summary>Encodes the header into a reused buffer.</summary>
    [Benchmark]
    public int Write()
    {
        _output.ResetWrittenCount();
        return TarHeaderEncoder.Write(_header, _output);
    }

    /// <summary>Only measures the header (the survey's per-entry cost for the Content-Length).</summary>
    [Benchmark]
    public int EncodedLength() => TarHeaderEncoder.EncodedLength(_header);

    private static TarEntryHeader File(string name) => new()
    {
        Name = Encoding.UTF8.GetBytes(name),
        Type = TarEntryType.RegularFile,
        Mode = Convert.ToInt64("644", 8),
        Uid = 1000,
        Gid = 1000,
        Size = 4321,
        ModificationTime = 1_577_836_800,
    };

    private static string DeepPath(int length)
    {
        const string FileName = "/lib/index-x.js";
        var path = new StringBuilder("app/node_modules");
        for (var n = 0; ; n++)
        {
            var segment = n % 2 == 0 ? "/node_modules" : $"/pkg-{n:D3}-util";
            if (path.Length + segment.Length + FileName.Length > length)
            {
                break;
            }

            path.Append(segment);
        }

        path.Append("/lib/index-");
        return path.Append('x', length - path.Length - 3).Append(".js").ToString();
    }
}
