using System.IO.Pipelines;
using LayerExport.Core.Reader;
using LayerExport.Core.Tar;

namespace TarEncoderComparison;

/// <summary>LayerExport's own path: <see cref="TarHeaderEncoder"/> through <see cref="TarStreamWriter"/> into a pipe.</summary>
internal sealed class OwnEncoder : ITarEncoderUnderTest
{
    public string Name => "ours";

    public async Task WriteAsync(IReadOnlyList<BenchEntry> entries, Stream output, CancellationToken cancellationToken)
    {
        var pipe = PipeWriter.Create(output, new StreamPipeWriterOptions(leaveOpen: true));
        var tar = new TarStreamWriter(pipe);
        foreach (var e in entries)
        {
            var header = new TarEntryHeader
            {
                Name = e.Name,
                Type = (TarEntryType)e.Type,
                Mode = e.Mode,
                Uid = e.Uid,
                Gid = e.Gid,
                Size = e.Data.Length,
                ModificationTime = e.ModificationTime,
                LinkName = e.LinkName,
                Xattrs = [.. e.Xattrs.Select(static x => new Xattr(x.Name, x.Value))],
            };
            using var entry = new LayerEntry(header, e.Data.Length > 0 ? new ArrayContent(e.Data) : null);
            await tar.WriteEntryAsync(entry, cancellationToken).ConfigureAwait(false);
        }

        await tar.FinishAsync(beforeEnd: null, cancellationToken).ConfigureAwait(false);
        await pipe.CompleteAsync().ConfigureAwait(false);
    }

    private sealed class ArrayContent(byte[] data) : IEntryContent
    {
        public int Read(Span<byte> destination, long offset)
        {
            if (offset >= data.Length)
            {
                return 0;
            }

            var n = (int)Math.Min(destination.Length, data.Length - offset);
            data.AsSpan((int)offset, n).CopyTo(destination);
            return n;
        }

        public void Dispose()
        {
        }
    }
}
