using System.Text;

namespace LayerExport.Core.Tests.Support;

/// <summary>
/// Writes random entries below a root from a seeded <see cref="Random"/>: a full root file system, or a layer's diff
/// in overlayfs's on-disk form (character-device and xattr whiteouts, opaque directories).
/// </summary>
/// <remarks>
/// Every tree draws its names from one small set, so the layers of a chain, and a tree and its changed copy,
/// overlap. A diff given the merged view below it mostly changes what that view holds: it deletes, replaces, merges
/// into or hides its entries. The same seed writes the same tree. Times are set by <see cref="SetTimes"/>, last.
/// </remarks>
internal sealed class RandomTree
{
    /// <summary>The names every directory draws from: short, long (over 100 bytes), with a space, not ASCII.</summary>
    public static readonly string[] Names = ["a", "b", "c", "data", "e.txt", "café", "with space", new string('n', 110)];

    private const int MaxDepth = 4;
    private const int DirectoryType = 0x4000;

    /// <summary>The modes regular files, FIFOs and devices are given.</summary>
    public static readonly string[] FileModes = ["644", "644", "600", "755", "000", "444", "4755", "2755", "1644", "7777"];

    /// <summary>The modes directories are given.</summary>
    public static readonly string[] DirectoryModes = ["755", "755", "700", "555", "000", "1777", "2775", "7777"];

    /// <summary>The owners entries are given: root, common ones, and one past what a ustar header holds.</summary>
    public static readonly (long Uid, long Gid)[] Owners = [(0, 0), (0, 0), (1000, 1000), (65534, 65534), (123, 456), (3_000_000, 3_000_001)];

    /// <summary>The <c>user.*</c> xattrs files and directories are given.</summary>
    public static readonly string[] XattrNames = ["user.a", "user.comment", "user.Z"];

    /// <summary>The targets symlinks are given: relative, absolute, dangling, long.</summary>
    public static readonly string[] SymlinkTargets = ["a", "../b", "/etc/passwd", "nowhere/missing", "c/" + new string('t', 120)];

    private static readonly string[] LookalikeMarkers = ["", "n", "yes", "Y"];

    private readonly Random _random;
    private readonly string? _overlayNamespace;
    private readonly string? _below;
    private readonly bool _forWritableMount;
    private readonly List<string> _files = [];
    private readonly List<string> _whiteouts = [];
    private readonly List<string> _written = [];
    private bool _belowHidden;

    private RandomTree(string root, Random random, string? overlayNamespace, string? below, bool forWritableMount)
    {
        Root = root;
        _random = random;
        _overlayNamespace = overlayNamespace;
        _below = below;
        _forWritableMount = forWritableMount;
    }

    /// <summary>The kinds of entry the tree writes.</summary>
    public enum Kind
    {
        File,
        Directory,
        Symlink,
        HardLink,
        Fifo,
        Device,
        Whiteout,
        XattrWhiteout,
        XattrWhiteoutLookalike,
    }

    public string Root { get; }

    /// <summary>A tree of plain entries: no whiteouts, no overlay marks.</summary>
    public static RandomTree Full(string root, Random random) => new(root, random, null, null, false);

    /// <summary>
    /// A layer's diff in overlayfs's form, its marks in the <c>trusted</c> or <c>user</c> xattr namespace; with
    /// <paramref name="below"/>, the merged view of the layers under it, whose entries it then mostly changes. With
    /// <paramref name="forWritableMount"/> every whiteout is a character device that deletes an entry of that view, as
    /// in a layer overlayfs or an OCI applier wrote: a writable overlayfs mount cannot remove a directory in which it
    /// lists a whiteout that hides nothing (a lower directory that merges nothing) or which holds an xattr whiteout.
    /// Otherwise whiteouts are also written where nothing is below.
    /// </summary>
    public static RandomTree OverlayDiff(string root, Random random, string xattrNamespace, string? below = null, bool forWritableMount = false) =>
        new(root, random, xattrNamespace, below, forWritableMount);

    /// <summary>Fills the root with random entries, sometimes with a directory chain deeper than the export keeps open, and sets their times.</summary>
    public void Fill()
    {
        // overlayfs ignores an opaque mark on a layer's root.
        if (_overlayNamespace is not null && _random.Next(4) == 0)
        {
            Posix.SetXattr(Root, $"{_overlayNamespace}.overlay.opaque", "y"u8);
        }

        FillDirectory("", 0, holdsXattrWhiteouts: false);
        if (_random.Next(2) == 0 || (BelowType("deep") is DirectoryType && _random.Next(4) != 0))
        {
            DeepChain();
        }

        SetTimes();
    }

    /// <summary>Writes one random entry (a whole subtree for a directory) at <paramref name="path"/>, of <paramref name="kind"/> when given.</summary>
    public void Add(string path, int depth, Kind? kind = null, bool holdsXattrWhiteouts = false)
    {
        switch (kind ?? PickKind(depth, holdsXattrWhiteouts))
        {
            case Kind.File:
                WriteFile(path, RandomContent());
                break;
            case Kind.Directory:
                Directory.CreateDirectory(Full(path));
                _written.Add(path);
                Attributes(path, DirectoryModes, xattrs: true);

                // An overlay diff's directory is opaque ("y") or holds xattr whiteouts ("x") often, and more often over a
                // directory below; now and then its mark has a value overlayfs takes for neither.
                var over = BelowType(path) == DirectoryType;
                var roll = _random.Next(20);
                var marker = _overlayNamespace is null ? null
                    : roll < (over ? 9 : 4) ? "y"
                    : roll < (over ? 14 : 7) ? "x"
                    : roll == 19 ? LookalikeMarkers[_random.Next(LookalikeMarkers.Length)]
                    : null;
                if (marker is not null)
                {
                    Posix.SetXattr(Full(path), $"{_overlayNamespace}.overlay.opaque", Encoding.ASCII.GetBytes(marker));
                }

                // Below an opaque directory, or one over anything but a directory, the diff writes as if on nothing.
                var hidden = _belowHidden;
                _belowHidden |= marker == "y" || !over;
                FillDirectory(path, depth + 1, holdsXattrWhiteouts: marker == "x");
                _belowHidden = hidden;
                break;
            case Kind.Symlink:
                File.CreateSymbolicLink(Full(path), SymlinkTargets[_random.Next(SymlinkTargets.Length)]);
                _written.Add(path);
                var (uid, gid) = Owners[_random.Next(Owners.Length)];
                Posix.ChangeOwner(Full(path), uid, gid);
                break;
            case Kind.HardLink when _files.Count > 0:
                Posix.HardLink(Full(_files[_random.Next(_files.Count)]), Full(path));
                _written.Add(path);
                break;
            case Kind.HardLink:
                WriteFile(path, RandomContent());
                break;
            case Kind.Fifo:
                Posix.MakeFifo(Full(path));
                _written.Add(path);
                Attributes(path, FileModes, xattrs: false);
                break;
            case Kind.Device:
                // 0:5 is no whiteout: only 0:0 is.
                (int Type, uint Major, uint Minor)[] devices = [(Posix.CharacterDeviceType, 1, 3), (Posix.CharacterDeviceType, 0, 5), (Posix.BlockDeviceType, 8, 1)];
                var device = devices[_random.Next(devices.Length)];
                Posix.MakeNode(Full(path), device.Type | Convert.ToInt32("644", 8), device.Major, device.Minor);
                _written.Add(path);
                Attributes(path, FileModes, xattrs: false);
                break;
            case Kind.Whiteout:
                // overlayfs links its whiteouts to one shared inode, so a real upper directory holds linked ones.
                if (_whiteouts.Count > 0 && _random.Next(3) == 0)
                {
                    Posix.HardLink(Full(_whiteouts[_random.Next(_whiteouts.Count)]), Full(path));
                }
                else
                {
                    Posix.MakeNode(Full(path), Posix.CharacterDeviceType, 0, 0);
                }

                _whiteouts.Add(path);
                break;
            case Kind.XattrWhiteout:
                File.WriteAllBytes(Full(path), []);
                Posix.SetXattr(Full(path), $"{_overlayNamespace}.overlay.whiteout", _random.Next(2) == 0 ? [] : "y"u8);
                break;
            case Kind.XattrWhiteoutLookalike:
                // Not a whiteout: a file with the mark but data, or an empty file without it.
                if (_random.Next(2) == 0)
                {
                    WriteFile(path, RandomContent(minimum: 1));
                    Posix.SetXattr(Full(path), $"{_overlayNamespace}.overlay.whiteout", []);
                }
                else
                {
                    WriteFile(path, []);
                }

                break;
        }
    }

    /// <summary>Gives every entry this tree wrote a random mtime, children before their directory.</summary>
    public void SetTimes()
    {
        for (var i = _written.Count - 1; i >= 0; i--)
        {
            var (seconds, nanoseconds) = RandomTime(_random);
            Posix.SetModificationTime(Full(_written[i]), seconds, nanoseconds);
        }

        _written.Clear();
    }

    /// <summary>
    /// A time between 2001 and 2030, or now and then one a ustar header cannot hold (before 1970, past 11 octal
    /// digits) or the epoch; whole seconds half of the time.
    /// </summary>
    public static (long Seconds, long Nanoseconds) RandomTime(Random random)
    {
        long[] edges = [0, -1_000_000_000, 8_589_934_591, 8_589_934_592, 9_000_000_000];
        var seconds = random.Next(25) == 0 ? edges[random.Next(edges.Length)] : 1_000_000_000 + random.NextInt64(900_000_000);
        return (seconds, random.Next(2) == 0 ? 0 : random.Next(1, 1_000_000_000));
    }

    /// <summary>Random bytes of a random length: often empty or small, sometimes past several tar blocks.</summary>
    public byte[] RandomContent(int minimum = 0)
    {
        var roll = _random.Next(20);
        var length = roll < 3 ? 0 : roll < 13 ? _random.Next(1, 200) : roll < 18 ? _random.Next(200, 5_000) : _random.Next(5_000, 70_000);
        var content = new byte[Math.Max(minimum, length)];
        _random.NextBytes(content);
        return content;
    }

    // A random owner, then a random mode (chown clears setuid and setgid), then random user.* xattrs.
    private void Attributes(string path, string[] modes, bool xattrs)
    {
        var (uid, gid) = Owners[_random.Next(Owners.Length)];
        Posix.ChangeOwner(Full(path), uid, gid);
        Posix.ChangeMode(Full(path), Convert.ToInt32(modes[_random.Next(modes.Length)], 8));
        if (!xattrs)
        {
            return;
        }

        foreach (var name in XattrNames)
        {
            if (_random.Next(4) == 0)
            {
                Posix.SetXattr(Full(path), name, RandomXattrValue(_random));
            }
        }
    }

    /// <summary>An xattr value: empty, text, or binary.</summary>
    public static byte[] RandomXattrValue(Random random)
    {
        switch (random.Next(3))
        {
            case 0:
                return [];
            case 1:
                return Encoding.UTF8.GetBytes($"value {random.Next(1000)}");
            default:
                var value = new byte[random.Next(1, 64)];
                random.NextBytes(value);
                return value;
        }
    }

    private void FillDirectory(string directory, int depth, bool holdsXattrWhiteouts)
    {
        var chance = depth == 0 ? 0.8 : 0.6 / depth;
        foreach (var name in Names)
        {
            var path = Join(directory, name);
            if (BelowType(path) is { } below && _random.Next(10) < 7)
            {
                Change(path, depth, below, holdsXattrWhiteouts);
            }
            else if (_random.NextDouble() < chance)
            {
                Add(path, depth, holdsXattrWhiteouts: holdsXattrWhiteouts);
            }
        }
    }

    // Deletes an entry of the view below, merges into its directory, or replaces it.
    private void Change(string path, int depth, int belowType, bool holdsXattrWhiteouts)
    {
        var roll = _random.Next(10);
        if (roll < 2)
        {
            Add(path, depth, holdsXattrWhiteouts && !_forWritableMount && _random.Next(2) == 0 ? Kind.XattrWhiteout : Kind.Whiteout);
        }
        else if (roll < 8 && belowType == DirectoryType && depth < MaxDepth)
        {
            Add(path, depth, Kind.Directory);
        }
        else
        {
            Add(path, depth, holdsXattrWhiteouts: holdsXattrWhiteouts);
        }
    }

    // The type of the entry at the path in the view below, if there is one.
    private int? BelowType(string path) => _below is null || _belowHidden ? null : Posix.TryStat(Path.Combine(_below, path))?.Type;

    // 30 to 40 levels of the same name in every tree, so the chains of two layers overlap; the export keeps only 32 open.
    private void DeepChain()
    {
        var levels = _random.Next(30, 41);
        var path = "deep";
        var hidden = _belowHidden;
        for (var level = 0; level < levels; level++)
        {
            _belowHidden |= BelowType(path) != DirectoryType;
            if (_overlayNamespace is not null && (!_forWritableMount || BelowType(path) is not null) && _random.Next(60) == 0)
            {
                Add(path, MaxDepth, Kind.Whiteout);
                _belowHidden = hidden;
                return;
            }

            Directory.CreateDirectory(Full(path));
            _written.Add(path);
            Attributes(path, DirectoryModes, xattrs: false);
            if (_overlayNamespace is not null && _random.Next(60) == 0)
            {
                Posix.SetXattr(Full(path), $"{_overlayNamespace}.overlay.opaque", "y"u8);
                _belowHidden = true;
            }

            path += "/lvl";
        }

        if (BelowType(path) is { } below)
        {
            Change(path, MaxDepth - 1, below, holdsXattrWhiteouts: false);
        }
        else
        {
            Add(path, MaxDepth - 1);
        }

        _belowHidden = hidden;
    }

    private Kind PickKind(int depth, bool holdsXattrWhiteouts)
    {
        var weights = new (Kind Kind, int Weight)[]
        {
            (Kind.File, 30),
            (Kind.Directory, depth < MaxDepth ? 22 : 0),
            (Kind.Symlink, 10),
            (Kind.HardLink, 10),
            (Kind.Fifo, 2),
            (Kind.Device, 2),
            (Kind.Whiteout, _overlayNamespace is null || _forWritableMount ? 0 : 15),
            (Kind.XattrWhiteout, holdsXattrWhiteouts && !_forWritableMount ? 20 : 0),
            (Kind.XattrWhiteoutLookalike, holdsXattrWhiteouts ? 8 : 0),
        };
        var roll = _random.Next(weights.Sum(static w => w.Weight));
        foreach (var (kind, weight) in weights)
        {
            if (roll < weight)
            {
                return kind;
            }

            roll -= weight;
        }

        throw new InvalidOperationException("unreachable: the roll is below the sum of the weights");
    }

    private void WriteFile(string path, byte[] content)
    {
        File.WriteAllBytes(Full(path), content);
        _written.Add(path);
        _files.Add(path);
        Attributes(path, FileModes, xattrs: true);
    }

    private string Full(string path) => Path.Combine(Root, path);

    private static string Join(string directory, string name) => directory.Length == 0 ? name : directory + "/" + name;
}
