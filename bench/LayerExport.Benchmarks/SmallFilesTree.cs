namespace LayerExport.Benchmarks;

/// <summary>Writes a deterministic node_modules-like tree, the shape of bench/make-layers.py's small-files at a small scale.</summary>
public static class SmallFilesTree
{
    private static readonly string[] PackageDirectories = ["lib", "dist", "src", "esm", "cjs", "types", "internal"];
    private static readonly string[] Suffixes = [".js", ".js", ".js", ".d.ts", ".json", ".map", ".md", ".mjs"];

    /// <summary>Writes <paramref name="fileCount"/> files of 0-16 KiB under <paramref name="diff"/>.</summary>
    public static void Write(string diff, int fileCount, int seed)
    {
        var random = new Random(seed);
        var text = SampleContent.Text(random, 1 << 20);
        var modules = new List<(string Path, int Depth)> { (Path.Combine(diff, "app", "node_modules"), 1) };
        var files = 0;
        for (var package = 0; files < fileCount; package++)
        {
            var (parent, depth) = modules[random.Next(modules.Count)];
            var directories = new List<string> { Path.Combine(parent, $"pkg-{package:D4}") };
            for (var n = random.Next(1, 5); n > 0; n--)
            {
                var under = random.NextDouble() < 0.6 ? directories[^1] : directories[random.Next(directories.Count)];
                directories.Add(Path.Combine(under, PackageDirectories[random.Next(PackageDirectories.Length)]));
            }

            foreach (var directory in directories)
            {
                Directory.CreateDirectory(directory);
            }

            for (var n = random.Next(4, 28); n > 0 && files < fileCount; n--, files++)
            {
                var size = random.Next(0, (16 * 1024) + 1);
                var data = new byte[size];
                if (random.Next(5) == 0)
                {
                    random.NextBytes(data);
                }
                else
                {
                    text.AsSpan(random.Next(text.Length - size), size).CopyTo(data);
                }

                var name = $"f{n:D2}{Suffixes[random.Next(Suffixes.Length)]}";
                File.WriteAllBytes(Path.Combine(directories[random.Next(directories.Count)], name), data);
            }

            if (depth < 8 && random.NextDouble() < 0.35)
            {
                modules.Add((Path.Combine(directories[0], "node_modules"), depth + 1));
            }
        }
    }
}
