using System.Globalization;
using System.Text;

namespace LayerExport.Core.Tar;

/// <summary>A time with the sub-second precision a PAX time record keeps: whole seconds (floor) and nanoseconds.</summary>
/// <param name="Seconds">Seconds since the epoch, rounded down (so negative for a time before 1970).</param>
/// <param name="Nanoseconds">Nanoseconds past <paramref name="Seconds"/>, 0 to 999 999 999.</param>
public readonly record struct PaxTime(long Seconds, int Nanoseconds)
{
    private const long NanosecondsPerSecond = 1_000_000_000;

    /// <summary>The time <paramref name="nanoseconds"/> after the epoch, as Go's <c>time.Unix(0, ns)</c> reads it.</summary>
    public static PaxTime FromUnixNanoseconds(long nanoseconds)
    {
        var seconds = Math.DivRem(nanoseconds, NanosecondsPerSecond, out var rest);
        return rest < 0 ? new PaxTime(seconds - 1, (int)(rest + NanosecondsPerSecond)) : new PaxTime(seconds, (int)rest);
    }

    /// <summary>The record value Go's <c>archive/tar</c> writes: <c>secs[.frac]</c>, trailing zeros of the fraction dropped.</summary>
    public byte[] Format()
    {
        if (Nanoseconds is < 0 or >= (int)NanosecondsPerSecond)
        {
            throw new TarEncodingException($"{Nanoseconds} is not a nanosecond count of 0 to 999999999");
        }

        if (Nanoseconds == 0)
        {
            return Encoding.ASCII.GetBytes(Seconds.ToString(CultureInfo.InvariantCulture));
        }

        // Below zero, Go writes the magnitude: -1.25 is (-2 s, 750 000 000 ns).
        var text = Seconds < 0
            ? FormattableString.Invariant($"-{-(Seconds + 1)}.{NanosecondsPerSecond - Nanoseconds:D9}")
            : FormattableString.Invariant($"{Seconds}.{Nanoseconds:D9}");
        return Encoding.ASCII.GetBytes(text.TrimEnd('0'));
    }
}
