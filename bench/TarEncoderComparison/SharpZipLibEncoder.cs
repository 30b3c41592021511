using System.Text;
using ICSharpCode.SharpZipLib.Tar;

namespace TarEncoderComparison;

/// <summary>SharpZipLib's <see cref="TarOutputStream"/>: ustar plus GNU long names, no PAX writer, so xattrs cannot be written.</summary>
internal sealed class SharpZipLibEncoder : ITarEncoderUnderTest
{
    public string Name => "sharpziplib";

    public Task WriteAsync(IReadOnlyList<BenchEntry> entries, Stream output, CancellationToken cancellationToken)
    {
        using var tar = new TarOutputStream(output, Encoding.UTF8) { IsStreamOwner = false };
        foreach (var e in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var entry = TarEntry.CreateTarEntry(Encoding.UTF8.GetString(e.Name));
            var header = entry.TarHeader;
            header.TypeFlag = e.Type;
            header.Mode = (int)e.Mode;
            header.UserId = checked((int)e.Uid);
            header.GroupId = checked((int)e.Gid);
            header.UserName = "";
            header.GroupName = "";
            header.ModTime = DateTime.UnixEpoch.AddSeconds(e.ModificationTime);
            header.LinkName = Encoding.UTF8.GetString(e.LinkName);
            header.Size = e.Data.Length;
            tar.PutNextEntry(entry);
            tar.Write(e.Data);
            tar.CloseEntry();
        }

        tar.Finish();
        return Task.CompletedTask;
    }
}
