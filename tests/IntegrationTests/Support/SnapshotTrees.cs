namespace IntegrationTests.Support;

/// <summary>Writes a <c>snapshots</c> store: each layer a whole tree in <c>&lt;id&gt;/fs</c> and its parent in <c>layer.json</c>.</summary>
internal static class SnapshotTrees
{
    /// <summary>
    /// <c>base</c> (<c>etc/hostname</c>, <c>etc/removed</c>) and <c>child</c> on it, a copy (<c>cp -a</c>) that
    /// deletes <c>etc/removed</c> and adds <c>added</c>.
    /// </summary>
    public static async Task AddBaseAndChildAsync(string root)
    {
        var baseTree = Tree(root, "base", parent: null);
        Directory.CreateDirectory(Path.Combine(baseTree, "etc"));
        await File.WriteAllTextAsync(Path.Combine(baseTree, "etc", "hostname"), "base\n");
        await File.WriteAllTextAsync(Path.Combine(baseTree, "etc", "removed"), "gone in child\n");

        var childTree = Tree(root, "child", parent: "base");
        Directory.Delete(childTree);
        var copy = await ProcessRunner.RunAsync("cp", ["-a", baseTree, childTree]);
        Assert.True(copy.ExitCode == 0, copy.Describe());
        File.Delete(Path.Combine(childTree, "etc", "removed"));
        await File.WriteAllTextAsync(Path.Combine(childTree, "added"), "new in child\n");
    }

    private static string Tree(string root, string id, string? parent)
    {
        var tree = Path.Combine(root, id, "fs");
        Directory.CreateDirectory(tree);
        File.WriteAllText(Path.Combine(root, id, "layer.json"), parent is null ? "{}" : $"{{\"parent\":\"{parent}\"}}");
        return tree;
    }
}
