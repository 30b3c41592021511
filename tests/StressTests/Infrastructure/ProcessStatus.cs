using System.Globalization;

namespace StressTests.Infrastructure;

/// <summary>What <c>/proc/&lt;pid&gt;</c> says about a process: open descriptors, threads, memory, identity.</summary>
/// <param name="OpenFiles">Entries in <c>/proc/&lt;pid&gt;/fd</c>.</param>
/// <param name="Threads">Threads: from <c>status</c>.</param>
/// <param name="ResidentKiB">VmRSS: resident memory now, KiB.</param>
/// <param name="PeakResidentKiB">VmHWM: the most resident memory since the process started, KiB.</param>
/// <param name="Uids">Uid: real, effective, saved and filesystem user IDs.</param>
/// <param name="EffectiveCapabilities">CapEff: the effective capability mask, hexadecimal.</param>
/// <param name="ReadChars">rchar from <c>/proc/&lt;pid&gt;/io</c>: bytes passed to read() and friends, page cache or not.</param>
internal sealed record ProcessStatus(int OpenFiles, int Threads, long ResidentKiB, long PeakResidentKiB, IReadOnlyList<int> Uids, string EffectiveCapabilities, long ReadChars)
{
    public static ProcessStatus Read(int pid)
    {
        var status = Fields($"/proc/{pid}/status");
        var io = Fields($"/proc/{pid}/io");
        return new ProcessStatus(
            Directory.EnumerateFileSystemEntries($"/proc/{pid}/fd").Count(),
            int.Parse(status["Threads"], CultureInfo.InvariantCulture),
            Kibibytes(status["VmRSS"]),
            Kibibytes(status["VmHWM"]),
            status["Uid"].Split('\t', StringSplitOptions.RemoveEmptyEntries).Select(static uid => int.Parse(uid, CultureInfo.InvariantCulture)).ToList(),
            status["CapEff"],
            long.Parse(io["rchar"], CultureInfo.InvariantCulture));
    }

    public override string ToString() =>
        $"{OpenFiles} open files, {Threads} threads, RSS {Figures.Megabytes(ResidentKiB)} (peak {Figures.Megabytes(PeakResidentKiB)})";

    private static Dictionary<string, string> Fields(string file) =>
        File.ReadAllLines(file)
            .Select(static line => line.Split(':', 2))
            .Where(static parts => parts.Length == 2)
            .ToDictionary(static parts => parts[0], static parts => parts[1].Trim());

    // "123456 kB"
    private static long Kibibytes(string value) => long.Parse(value.Split(' ')[0], CultureInfo.InvariantCulture);
}
