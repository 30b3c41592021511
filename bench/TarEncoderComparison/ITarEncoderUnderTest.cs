namespace TarEncoderComparison;

/// <summary>One tar writer under comparison, driven with the same entries as the others.</summary>
internal interface ITarEncoderUnderTest
{
    /// <summary>Short name, used for file names and the table.</summary>
    string Name { get; }

    /// <summary>Writes <paramref name="entries"/> as a complete archive to <paramref name="output"/>.</summary>
    Task WriteAsync(IReadOnlyList<BenchEntry> entries, Stream output, CancellationToken cancellationToken);
}
