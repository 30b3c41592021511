using System.Globalization;
using Xunit.Abstractions;

namespace StressTests.Infrastructure;

/// <summary>Where a test reports what it measured: the test output, and the STRESS_FIGURES file when set.</summary>
internal sealed class Figures(ITestOutputHelper output, string test)
{
    private static readonly Lock FileLock = new();

    /// <summary>Reports one figure as <c>test: name = value</c>.</summary>
    public void Report(string name, FormattableString value)
    {
        var line = $"{test}: {name} = {value.ToString(CultureInfo.InvariantCulture)}";
        output.WriteLine(line);
        if (StressSettings.FiguresFile is { } file)
        {
            lock (FileLock)
            {
                File.AppendAllText(file, line + "\n");
            }
        }
    }

    /// <summary>Megabytes (10^6 bytes) from kibibytes, as <c>/proc</c> reports memory.</summary>
    public static string Megabytes(long kib) => (kib * 1024 / 1e6).ToString("F1", CultureInfo.InvariantCulture) + " MB";
}
