using System.Text;

namespace LayerExport.Benchmarks;

/// <summary>Deterministic content for the benchmarks: source-like text (compressible) and random bytes (not).</summary>
public static class SampleContent
{
    private static readonly string[] Words =
    [
        "const", "return", "module", "exports", "require", "function", "layer", "export", "stream", "header",
        "digest", "request", "response", "config", "handler", "buffer", "length", "index", "value", "error",
    ];

    /// <summary><paramref name="length"/> bytes of generated source- and log-like lines.</summary>
    public static byte[] Text(Random random, int length)
    {
        var text = new StringBuilder(length + 128);
        while (text.Length < length)
        {
            var word = Words[random.Next(Words.Length)];
            _ = random.Next(3) switch
            {
                0 => text.Append("    const ").Append(word).Append('_').Append(random.Next(1000)).Append(" = ")
                    .Append(Words[random.Next(Words.Length)]).Append('(').Append(random.Next(100_000)).Append(");\n"),
                1 => text.Append("INFO ").Append(word).Append(": ").Append(Words[random.Next(Words.Length)]).Append('=')
                    .Append(random.Next(1 << 20)).Append('\n'),
                _ => text.Append("// ").Append(word).Append(' ').Append(Words[random.Next(Words.Length)]).Append(' ')
                    .Append(Words[random.Next(Words.Length)]).Append('\n'),
            };
        }

        return Encoding.ASCII.GetBytes(text.ToString(0, length));
    }

    /// <summary><paramref name="length"/> bytes in 64-256 KiB chunks, about half random and half <see cref="Text"/>.</summary>
    public static byte[] Mixed(int seed, int length)
    {
        var random = new Random(seed);
        var data = new byte[length];
        var offset = 0;
        while (offset < length)
        {
            var chunk = Math.Min(length - offset, random.Next(64 * 1024, (256 * 1024) + 1));
            if (random.Next(2) == 0)
            {
                random.NextBytes(data.AsSpan(offset, chunk));
            }
            else
            {
                Text(random, chunk).CopyTo(data, offset);
            }

            offset += chunk;
        }

        return data;
    }
}
