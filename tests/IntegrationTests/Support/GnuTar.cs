using Xunit.Sdk;

namespace IntegrationTests.Support;

/// <summary>GNU tar as an independent reader of the archives the server sends.</summary>
internal static class GnuTar
{
    /// <summary>Lists <paramref name="archive"/> with <c>tar -tvf</c>, failing unless GNU tar reads it without a complaint.</summary>
    public static async Task<IReadOnlyList<string>> ListVerboseAsync(string archive) =>
        Lines(await RunCleanAsync("-tvf", archive));

    /// <summary>Lists <paramref name="archive"/> with the block each entry starts at (<c>tar -tvRf</c>), with any further <paramref name="options"/>; the last line tells how the archive ended.</summary>
    public static async Task<IReadOnlyList<string>> ListBlocksAsync(string archive, params string[] options) =>
        Lines(await RunCleanAsync([.. options, "-tvRf", archive]));

    /// <summary>The entry names of <paramref name="archive"/> in archive order (<c>tar -tf</c>).</summary>
    public static async Task<IReadOnlyList<string>> ListNamesAsync(string archive) =>
        Lines(await RunCleanAsync("-tf", archive));

    /// <summary>The content of one member (<c>tar -xOf</c>), with any further <paramref name="options"/>.</summary>
    public static async Task<string> ReadMemberAsync(string archive, string member, params string[] options) =>
        await RunCleanAsync([.. options, "-xOf", archive, member]);

    /// <summary>Runs GNU tar on <paramref name="archive"/> without requiring success, for archives expected to be broken.</summary>
    public static async Task<ProcessRunner.Result> TryListAsync(string archive)
    {
        await RequireGnuTarAsync();
        return await ProcessRunner.RunAsync("tar", ["-tvf", archive]);
    }

    private static async Task<string> RunCleanAsync(params string[] arguments)
    {
        await RequireGnuTarAsync();
        var result = await ProcessRunner.RunAsync("tar", arguments);
        if (result.ExitCode != 0 || result.StandardError.Length != 0)
        {
            throw new XunitException($"tar {string.Join(' ', arguments)} did not read the archive cleanly: {result.Describe()}");
        }

        return result.StandardOutput;
    }

    private static readonly Lazy<Task> GnuTarChecked = new(CheckGnuTarAsync);

    private static Task RequireGnuTarAsync() => GnuTarChecked.Value;

    private static async Task CheckGnuTarAsync()
    {
        var version = await ProcessRunner.RunAsync("tar", ["--version"]);
        if (!version.StandardOutput.StartsWith("tar (GNU tar)", StringComparison.Ordinal))
        {
            throw new XunitException($"'tar' on PATH is not GNU tar; ./test.sh installs it. {version.Describe()}");
        }
    }

    private static string[] Lines(string text) => text.Split('\n', StringSplitOptions.RemoveEmptyEntries);
}
