using System.Globalization;
using TarEncoderComparison;

// Usage:
//   TarEncoderComparison write <dir>        each writer's archive as <dir>/<writer>.tar, plus <dir>/entries.json
//   TarEncoderComparison throughput [runs]  median time per writer into Stream.Null (default 5 runs), as TSV
ITarEncoderUnderTest[] encoders = [new OwnEncoder(), new SystemFormatsTarEncoder(), new SharpZipLibEncoder()];
var entries = EntrySet.Create(EntrySet.DefaultCount);
var invariant = CultureInfo.InvariantCulture;

switch (args)
{
    case ["write", var directory]:
        Directory.CreateDirectory(directory);
        await using (var manifest = File.Create(Path.Combine(directory, "entries.json")))
        {
            EntryManifest.Write(entries, manifest);
        }

        foreach (var encoder in encoders)
        {
            await using var file = File.Create(Path.Combine(directory, encoder.Name + ".tar"));
            await encoder.WriteAsync(entries, file, CancellationToken.None);
        }

        return 0;

    case ["throughput", .. var rest]:
        var runs = rest is [var count] ? int.Parse(count, invariant) : 5;
        Console.WriteLine("writer\tentries\tarchive_bytes\tmedian_ms\tentries_per_s\tmib_per_s");
        foreach (var encoder in encoders)
        {
            var counter = new CountingStream();
            await encoder.WriteAsync(entries, counter, CancellationToken.None);
            var median = await Throughput.MedianAsync(encoder, entries, runs, CancellationToken.None);
            Console.WriteLine(string.Join('\t',
                encoder.Name,
                entries.Count.ToString(invariant),
                counter.Length.ToString(invariant),
                median.TotalMilliseconds.ToString("F1", invariant),
                (entries.Count / median.TotalSeconds).ToString("F0", invariant),
                (counter.Length / median.TotalSeconds / (1024 * 1024)).ToString("F1", invariant)));
        }

        return 0;

    default:
        Console.Error.WriteLine("usage: TarEncoderComparison write <dir> | throughput [runs]");
        return 2;
}
