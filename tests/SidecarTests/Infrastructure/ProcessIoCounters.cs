using System.Globalization;

namespace SidecarTests.Infrastructure;

/// <summary>A process's I/O accounting from <c>/proc/&lt;pid&gt;/io</c>, summed over all its threads.</summary>
/// <param name="ReadChars">rchar: bytes passed to read()/pread() and friends, whether or not they came from the disk (page cache, holes).</param>
internal sealed record ProcessIoCounters(long ReadChars)
{
    public static ProcessIoCounters Read(int pid)
    {
        var fields = File.ReadAllLines($"/proc/{pid}/io")
            .Select(static line => line.Split(':', 2))
            .ToDictionary(static parts => parts[0].Trim(), static parts => long.Parse(parts[1].Trim(), CultureInfo.InvariantCulture));
        return new ProcessIoCounters(fields["rchar"]);
    }
}
