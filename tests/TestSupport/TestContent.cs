using System.Text;

namespace LayerExport.TestSupport;

/// <summary>Deterministic file contents: the same seed always gives the same bytes.</summary>
public static class TestContent
{
    /// <summary>Incompressible bytes.</summary>
    public static byte[] Random(int seed, int length)
    {
        var bytes = new byte[length];
        new Random(seed).NextBytes(bytes);
        return bytes;
    }

    /// <summary>Log-like text that compresses well but not trivially.</summary>
    public static byte[] Text(int seed, int length)
    {
        var random = new Random(seed);
        string[] words = ["layer", "export", "digest", "sha256", "registry", "blob", "upload", "range", "tar", "gzip", "zstd", "sidecar"];
        var text = new StringBuilder(length + 100);
        var line = 0;
        while (text.Length < length)
        {
            text.Append(line++).Append(' ');
            for (var i = random.Next(3, 12); i > 0; i--)
            {
                text.Append(words[random.Next(words.Length)]).Append(' ').Append(random.Next(100000)).Append(' ');
            }

            text.Append('\n');
        }

        return Encoding.ASCII.GetBytes(text.ToString(0, length));
    }
}
