namespace IntegrationTests.Support;

/// <summary>Tar readers we did not write (GNU tar, bsdtar, Python's tarfile), run on a tar a client saved.</summary>
internal static class TarReaders
{
    /// <summary>Asserts that none of them takes <paramref name="file"/> in <paramref name="directory"/> for a whole tar; returns what GNU tar listed before it stopped.</summary>
    /// <param name="directory">Where the file is.</param>
    /// <param name="file">The saved tar's name.</param>
    /// <param name="what">What the tar is, for the messages ("cut", "resumed").</param>
    public static async Task<string> AssertEachRejectsAsync(string directory, string file, string what)
    {
        var gnuTar = await ProcessRunner.RunAsync("tar", ["-tf", file], directory);
        var bsdtar = await ProcessRunner.RunAsync("bsdtar", ["-tf", file], directory);
        var python = await ProcessRunner.RunAsync("python3", ["-c", "import sys, tarfile; tarfile.open(sys.argv[1]).getmembers()", file], directory);
        Assert.True(gnuTar.ExitCode != 0, $"GNU tar accepted the {what} tar: {gnuTar.Describe()}");
        Assert.True(bsdtar.ExitCode != 0, $"bsdtar accepted the {what} tar: {bsdtar.Describe()}");
        Assert.True(python.ExitCode != 0, $"Python's tarfile accepted the {what} tar: {python.Describe()}");
        return gnuTar.StandardOutput;
    }
}
