namespace LayerExport.Core.Tests.Support;

/// <summary>
/// Changes a copy of a parent's tree at random from a seeded <see cref="Random"/>, the ways a layer changes its
/// parent's files, and says what it did.
/// </summary>
/// <remarks>
/// Two changes the naive diff cannot see by design (docs/layouts/snapshots.md) are never made: new content under an
/// unchanged mtime with a nanosecond part, and a file whose link count ends where it began while its names changed
/// (each file's link count is changed at most once). Content is also changed under an unchanged whole-second mtime
/// and under an mtime changed in its nanoseconds alone, which the diff must see.
/// </remarks>
internal sealed class TreeMutations
{
    private const int RegularType = 0x8000;
    private const int DirectoryType = 0x4000;
    private const int SymlinkType = 0xA000;

    private readonly string _root;
    private readonly Random _random;
    private readonly Dictionary<string, (long Seconds, uint Nanoseconds)> _parentDirectoryTimes;
    private readonly HashSet<(ulong Device, ulong Inode)> _relinked = [];
    private readonly List<string> _done = [];

    private TreeMutations(string root, Random random)
    {
        _root = root;
        _random = random;
        _parentDirectoryTimes = Entries()
            .Where(static e => e.Status.Type == DirectoryType)
            .ToDictionary(static e => e.Path, static e => (e.Status.MtimeSeconds, e.Status.MtimeNanoseconds), StringComparer.Ordinal);
    }

    /// <summary>Makes <paramref name="count"/> random changes below <paramref name="root"/>, then settles directory times; returns what was done.</summary>
    public static IReadOnlyList<string> Apply(string root, Random random, int count)
    {
        var mutations = new TreeMutations(root, random);
        Action[] changes =
        [
            mutations.AddEntry, mutations.AddEntry, mutations.RemoveEntry, mutations.RemoveEntry, mutations.RecreateDirectory,
            mutations.ReplaceWithAnotherType, mutations.ReplaceWithAnotherType,
            mutations.ChangeMode, mutations.ChangeMode, mutations.ChangeOwner, mutations.ChangeOwner, mutations.ChangeXattr, mutations.ChangeXattr,
            mutations.ChangeContentKeepingSize, mutations.ChangeContentKeepingSize, mutations.ChangeContent, mutations.ChangeMtime,
            mutations.RetargetSymlink, mutations.AddHardLink, mutations.RemoveHardLink, mutations.ReplaceWithHardLink,
        ];
        for (var i = 0; i < count; i++)
        {
            changes[random.Next(changes.Length)]();
        }

        mutations.SettleDirectoryTimes();
        return mutations._done;
    }

    private void AddEntry()
    {
        var directory = Pick(static e => e.Status.Type == DirectoryType, includeRoot: true);
        if (directory is null || FreeName(directory) is not { } path)
        {
            return;
        }

        AddRandom(path, null);
        _done.Add($"add {path}, {Describe(path)}");
    }

    private void RemoveEntry()
    {
        if (Pick(static _ => true) is not { } path || !Relink(path))
        {
            return;
        }

        Delete(path);
        _done.Add($"remove {path}");
    }

    private void ReplaceWithAnotherType()
    {
        if (Pick(static _ => true) is not { } path || !Relink(path))
        {
            return;
        }

        var was = Describe(path);
        RandomTree.Kind[] others = Posix.Stat(Full(path)).Type switch
        {
            DirectoryType => [RandomTree.Kind.File, RandomTree.Kind.Symlink],
            RegularType => [RandomTree.Kind.Directory, RandomTree.Kind.Symlink],
            _ => [RandomTree.Kind.File, RandomTree.Kind.Directory],
        };
        Delete(path);
        AddRandom(path, others[_random.Next(others.Length)]);
        _done.Add($"replace {path}, {was}, with {Describe(path)}");
    }

    // rm -rf and mkdir: the new directory's entries, its parent's whiteouts for the rest, whatever the two share by name.
    private void RecreateDirectory()
    {
        if (Pick(static e => e.Status.Type == DirectoryType) is not { } path || !Relink(path))
        {
            return;
        }

        Delete(path);
        AddRandom(path, RandomTree.Kind.Directory);
        _done.Add($"recreate directory {path}");
    }

    private void ChangeMode()
    {
        if (Pick(static e => e.Status.Type != SymlinkType) is not { } path)
        {
            return;
        }

        var status = Posix.Stat(Full(path));
        var modes = (status.Type == DirectoryType ? RandomTree.DirectoryModes : RandomTree.FileModes)
            .Select(static m => Convert.ToInt32(m, 8)).Where(m => m != status.Permissions).ToArray();
        var mode = modes[_random.Next(modes.Length)];
        Posix.ChangeMode(Full(path), mode);
        _done.Add($"chmod {Convert.ToString(mode, 8)} {path}");
    }

    private void ChangeOwner()
    {
        if (Pick(static _ => true) is not { } path)
        {
            return;
        }

        var status = Posix.Stat(Full(path));
        var owners = RandomTree.Owners.Where(o => o != (status.Uid, status.Gid)).ToArray();
        var (uid, gid) = owners[_random.Next(owners.Length)];
        Posix.ChangeOwner(Full(path), uid, gid);
        _done.Add($"chown {uid}:{gid} {path}");
    }

    private void ChangeXattr()
    {
        if (Pick(static e => e.Status.Type is RegularType or DirectoryType) is not { } path)
        {
            return;
        }

        var present = Posix.ListXattrs(Full(path)).Where(static n => n.StartsWith("user.", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToList();
        if (present.Count > 0 && _random.Next(3) == 0)
        {
            var name = present[_random.Next(present.Count)];
            Posix.RemoveXattr(Full(path), name);
            _done.Add($"remove xattr {name} of {path}");
        }
        else
        {
            var name = RandomTree.XattrNames[_random.Next(RandomTree.XattrNames.Length)];
            Posix.SetXattr(Full(path), name, RandomTree.RandomXattrValue(_random));
            _done.Add($"set xattr {name} of {path}");
        }
    }

    // The same number of bytes under an mtime the diff cannot trust (whole seconds, kept) or one changed only below the second.
    private void ChangeContentKeepingSize()
    {
        if (Pick(static e => e.Status.Type == RegularType && e.Status.Size > 0) is not { } path)
        {
            return;
        }

        var status = Posix.Stat(Full(path));
        var content = File.ReadAllBytes(Full(path));
        content[_random.Next(content.Length)] ^= (byte)_random.Next(1, 256);
        using (var file = new FileStream(Full(path), FileMode.Open, FileAccess.Write))
        {
            file.Write(content);
        }

        if (status.MtimeNanoseconds == 0)
        {
            Posix.SetModificationTime(Full(path), status.MtimeSeconds, 0);
            _done.Add($"rewrite {path} in place, same size, same whole-second mtime");
        }
        else
        {
            var nanoseconds = (status.MtimeNanoseconds + _random.Next(1, 1_000_000_000)) % 1_000_000_000;
            Posix.SetModificationTime(Full(path), status.MtimeSeconds, nanoseconds);
            _done.Add($"rewrite {path} in place, same size, mtime changed in its nanoseconds alone");
        }
    }

    private void ChangeContent()
    {
        if (Pick(static e => e.Status.Type == RegularType) is not { } path)
        {
            return;
        }

        File.WriteAllBytes(Full(path), RandomTree.Full(_root, _random).RandomContent());
        var (seconds, nanoseconds) = RandomTree.RandomTime(_random);
        Posix.SetModificationTime(Full(path), seconds, nanoseconds);
        _done.Add($"rewrite {path}");
    }

    // A new target under the old owner and the old mtime: only the target tells the change.
    private void RetargetSymlink()
    {
        if (Pick(static e => e.Status.Type == SymlinkType) is not { } path)
        {
            return;
        }

        var status = Posix.Stat(Full(path));
        var old = new FileInfo(Full(path)).LinkTarget;
        var targets = RandomTree.SymlinkTargets.Where(t => t != old).ToArray();
        File.Delete(Full(path));
        File.CreateSymbolicLink(Full(path), targets[_random.Next(targets.Length)]);
        Posix.ChangeOwner(Full(path), status.Uid, status.Gid);
        Posix.SetModificationTime(Full(path), status.MtimeSeconds, status.MtimeNanoseconds);
        _done.Add($"retarget {path}");
    }

    private void ChangeMtime()
    {
        if (Pick(static e => e.Status.Type != DirectoryType) is not { } path)
        {
            return;
        }

        var status = Posix.Stat(Full(path));
        Posix.SetModificationTime(Full(path), RandomTree.RandomTime(_random).Seconds, status.MtimeNanoseconds);
        _done.Add($"touch {path}");
    }

    private void AddHardLink()
    {
        var file = Pick(e => e.Status.Type == RegularType && !_relinked.Contains((e.Status.Device, e.Status.Inode)));
        var directory = Pick(static e => e.Status.Type == DirectoryType, includeRoot: true);
        if (file is null || directory is null || FreeName(directory) is not { } path)
        {
            return;
        }

        var status = Posix.Stat(Full(file));
        _relinked.Add((status.Device, status.Inode));
        Posix.HardLink(Full(file), Full(path));
        _done.Add($"link {path} to {file}");
    }

    // What a deduplicating tool does: a name becomes another name of a file elsewhere.
    private void ReplaceWithHardLink()
    {
        var file = Pick(e => e.Status.Type == RegularType && !_relinked.Contains((e.Status.Device, e.Status.Inode)));
        var path = Pick(static e => e.Status.Type == RegularType);
        if (file is null || path is null || Posix.Stat(Full(path)).Inode == Posix.Stat(Full(file)).Inode || !Relink(path))
        {
            return;
        }

        var status = Posix.Stat(Full(file));
        _relinked.Add((status.Device, status.Inode));
        File.Delete(Full(path));
        Posix.HardLink(Full(file), Full(path));
        _done.Add($"replace {path} with a link to {file}");
    }

    private void RemoveHardLink()
    {
        if (Pick(e => e.Status.Type == RegularType && e.Status.NLink > 1 && !_relinked.Contains((e.Status.Device, e.Status.Inode))) is not { } path)
        {
            return;
        }

        var status = Posix.Stat(Full(path));
        _relinked.Add((status.Device, status.Inode));
        File.Delete(Full(path));
        _done.Add($"unlink {path} (of {status.NLink} names)");
    }

    // Changes made directories "now"; each gets back its parent's time, when it had one, or a random one.
    private void SettleDirectoryTimes()
    {
        foreach (var (path, status) in Entries().Where(static e => e.Status.Type == DirectoryType).Reverse())
        {
            var inParent = _parentDirectoryTimes.TryGetValue(path, out var before);
            if (inParent && before == (status.MtimeSeconds, status.MtimeNanoseconds))
            {
                continue;
            }

            var (seconds, nanoseconds) = inParent && _random.Next(2) == 0 ? before : RandomTree.RandomTime(_random);
            Posix.SetModificationTime(Full(path), seconds, nanoseconds);
        }
    }

    // A removal or replacement changes the link count of every multiply-linked file it takes; false when one was changed already.
    private bool Relink(string path)
    {
        var status = Posix.Stat(Full(path));
        var files = status.Type == DirectoryType
            ? Entries().Where(e => e.Path.StartsWith(path + "/", StringComparison.Ordinal)).Select(static e => e.Status).ToList()
            : [status];
        var linked = files.Where(static s => s.Type == RegularType && s.NLink > 1).Select(static s => (s.Device, s.Inode)).ToList();
        if (linked.Any(_relinked.Contains))
        {
            return false;
        }

        _relinked.UnionWith(linked);
        return true;
    }

    private void AddRandom(string path, RandomTree.Kind? kind)
    {
        var tree = RandomTree.Full(_root, _random);
        tree.Add(path, Math.Min(path.Count(static c => c == '/'), 3), kind);
        tree.SetTimes();
    }

    private string? FreeName(string directory)
    {
        var free = RandomTree.Names.Append("added").Select(n => directory.Length == 0 ? n : directory + "/" + n)
            .Where(p => Posix.TryStat(Full(p)) is null).ToList();
        return free.Count == 0 ? null : free[_random.Next(free.Count)];
    }

    private string? Pick(Func<(string Path, FileMetadata Status), bool> accept, bool includeRoot = false)
    {
        var candidates = Entries().Where(accept).Select(static e => e.Path).ToList();
        if (includeRoot)
        {
            candidates.Insert(0, "");
        }

        return candidates.Count == 0 ? null : candidates[_random.Next(candidates.Count)];
    }

    private List<(string Path, FileMetadata Status)> Entries() =>
        [.. TreeWalk.RelativePaths(_root).Select(p => (p, Posix.Stat(Full(p))))];

    private string Describe(string path) => Posix.Stat(Full(path)).Type switch
    {
        RegularType => "a file",
        DirectoryType => "a directory",
        SymlinkType => "a symlink",
        _ => "a special file",
    };

    private void Delete(string path)
    {
        if (Posix.Stat(Full(path)).Type == DirectoryType)
        {
            Directory.Delete(Full(path), recursive: true);
        }
        else
        {
            File.Delete(Full(path));
        }
    }

    private string Full(string path) => path.Length == 0 ? _root : Path.Combine(_root, path);
}
