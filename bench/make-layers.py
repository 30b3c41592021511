#!/usr/bin/env python3
"""Writes a benchmark layer store in LayerExport's native layout (python3 standard library only).

    OUT/<id>/layer.json     {"parent": null}
    OUT/<id>/diff/          the layer's changes (what the server exports)
    OUT/bench-store.json    what was generated: seed, scale, format, per-layer counts

The layer ID is the shape's name. Shapes:

    small-files   ~60,000 files of 0-16 KiB in a deep node_modules-like tree (~500 MB)
    large-files   4 files, 2 GiB in all, each cut into 256 KiB-4 MiB chunks that are random
                  (incompressible) or generated text (compressible), about half and half
    mixed         a /usr-like root file system: a deterministic ~800 MB sample of --mixed-source's files
                  (binaries, libraries, headers, text, with their symlinks and hard links), plus 200 hard links, 200 symlinks (relative, absolute, dangling), 300 whiteouts and
                  5 opaque directories

--scale multiplies file counts and byte budgets (not the link, whiteout and opaque counts).

Deletions (only `mixed` has any), chosen with --format:
    overlay   whiteout = character device 0:0, opaque directory = xattr trusted.overlay.opaque=y
              (the overlayfs on-disk form; needs root)
    oci       literal empty files `.wh.<name>` and `.wh..wh..opq`

Everything synthetic comes from --seed, and every mtime is pinned to 2020-01-01T00:00:00Z, so two runs with
the same arguments give the same tar from a deterministic tar writer. `mixed` copies real files, so its
content depends on the machine: a path is copied when a hash of (seed, path) is below budget / source size,
so installing or removing files in the source changes the sample as well as the bytes.

    make-layers.py --out /var/tmp/layerbench/store --scale 0.25
    make-layers.py --out /tmp/tiny --scale 0.01 --shapes mixed --format oci
"""
import argparse
import hashlib
import json
import os
import random
import shutil
import stat
import sys
import time

PINNED_MTIME = 1577836800
KIB = 1024
MIB = 1024 * KIB
SHAPES = ("small-files", "large-files", "mixed")
TEXT_POOL_BYTES = 8 * MIB


class TextPool:
    """A block of generated source-like and log-like text; slices of it are the compressible content."""

    def __init__(self, seed):
        rng = random.Random(f"text-pool:{seed}")
        syllables = [rng.choice("bcdfghklmnprstvz") + rng.choice("aeiou") + rng.choice(("", "n", "r", "s"))
                     for _ in range(60)]
        words = sorted({"".join(rng.choice(syllables) for _ in range(rng.randint(1, 4))) for _ in range(3000)})
        lines = []
        size = 0
        number = 0
        while size < TEXT_POOL_BYTES:
            line = self._line(rng, words, number)
            lines.append(line)
            size += len(line)
            number += 1
        self.data = b"".join(lines)[:TEXT_POOL_BYTES]

    @staticmethod
    def _line(rng, words, number):
        style = rng.random()
        if style < 0.35:
            level = rng.choice(("INFO", "INFO", "DEBUG", "WARN", "ERROR"))
            fields = " ".join(f"{rng.choice(words)}={rng.randrange(100000)}" for _ in range(rng.randint(1, 4)))
            text = f"2020-01-01T{number // 3600 % 24:02d}:{number // 60 % 60:02d}:{number % 60:02d}Z {level} {rng.choice(words)}: {fields}\n"
        elif style < 0.75:
            indent = "    " * rng.randint(0, 3)
            args = ", ".join(rng.choice(words) for _ in range(rng.randint(0, 3)))
            text = f"{indent}{rng.choice(('const', 'let', 'return', 'var'))} {rng.choice(words)} = {rng.choice(words)}({args});\n"
        else:
            text = "# " + " ".join(rng.choice(words) for _ in range(rng.randint(3, 14))) + "\n"
        return text.encode()

    def slice(self, rng, size):
        start = rng.randrange(0, len(self.data) - size)
        return self.data[start:start + size]


def write_file(path, data, mode=0o644):
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)


def make_small_files(diff, rng, scale, pool):
    """A node_modules-like tree: packages with nested lib/dist/src dirs, nested node_modules up to depth 8."""
    wanted = max(100, round(60000 * scale))
    app = os.path.join(diff, "srv", "app")
    os.makedirs(app)
    write_file(os.path.join(app, "package.json"), b'{"name": "bench", "private": true}\n')
    files = 1
    total = 0
    packages = 0
    queue = [(os.path.join(app, "node_modules"), 1)]
    while files < wanted:
        modules, depth = queue[rng.randrange(len(queue))]
        package = os.path.join(modules, f"pkg{packages:05d}-{rng.choice(('core', 'util', 'cli', 'types', 'plugin'))}")
        packages += 1
        dirs = [package]
        for _ in range(rng.randint(0, 4)):
            dirs.append(os.path.join(rng.choice(dirs), rng.choice(("lib", "dist", "src", "esm", "cjs", "types", "internal"))))
        for d in dirs:
            os.makedirs(d, exist_ok=True)
        for n in range(rng.randint(3, 30)):
            if files >= wanted:
                break
            size = rng.randint(0, 16 * KIB)
            data = rng.randbytes(size) if rng.random() < 0.2 else pool.slice(rng, size)
            name = f"f{n:02d}{rng.choice(('.js', '.js', '.mjs', '.d.ts', '.json', '.map', '.md'))}"
            write_file(os.path.join(rng.choice(dirs), name), data, 0o755 if n % 11 == 5 else 0o644)
            files += 1
            total += size
        if depth < 8 and rng.random() < 0.3:
            queue.append((os.path.join(package, "node_modules"), depth + 1))
    return {"files": files, "file_bytes": total, "packages": packages}


def make_large_files(diff, rng, scale, pool):
    """Four big files of alternating random and text chunks, about half of each."""
    data_dir = os.path.join(diff, "var", "lib", "data")
    os.makedirs(data_dir)
    total = 0
    random_bytes = 0
    for n, mib in enumerate((768, 640, 384, 256)):
        size = max(MIB, int(mib * MIB * scale))
        with open(os.path.join(data_dir, f"blob{n}.bin"), "wb") as f:
            left = size
            while left:
                chunk = min(left, rng.randint(256 * KIB, 4 * MIB))
                if rng.random() < 0.5:
                    f.write(rng.randbytes(chunk))
                    random_bytes += chunk
                else:
                    f.write(pool.slice(rng, chunk))
                left -= chunk
        total += size
    return {"files": 4, "file_bytes": total, "random_bytes": random_bytes}


class TreeSample:
    """Copies a deterministic sample of a tree's files, with their directories, symlinks and hard links.

    Each regular file and symlink is kept when a hash of (seed, relative path) falls below budget / tree size,
    so every scale keeps the tree's mix of binaries, libraries, headers and text, and the choice does not
    depend on the walk order. A later name of an inode already copied becomes a hard link.
    """

    def __init__(self, source, target, seed, budget):
        self.source = source
        self.target = target
        self.seed = seed
        self.files = []
        self.dirs = []
        self.copied = 0
        self.source_hard_links = 0
        self._first_path = {}
        self._created = set()
        total = self._tree_bytes()
        self._keep_below = min(1.0, budget / total) if total else 0.0

    def _walk(self):
        for dirpath, dirnames, filenames in os.walk(self.source):
            dirnames.sort(key=os.fsencode)
            for name in sorted(filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))], key=os.fsencode):
                path = os.path.join(dirpath, name)
                try:
                    yield path, os.lstat(path)
                except OSError:
                    continue

    def _tree_bytes(self):
        return sum(st.st_size for _, st in self._walk() if stat.S_ISREG(st.st_mode))

    def _kept(self, relative):
        digest = hashlib.sha256(f"{self.seed}:{relative}".encode("utf-8", "surrogateescape")).digest()
        return int.from_bytes(digest[:8], "big") / 2.0 ** 64 < self._keep_below

    def _make_dirs(self, relative_dir):
        if relative_dir in self._created:
            return
        parent = os.path.dirname(relative_dir)
        if relative_dir:
            self._make_dirs(parent)
        path = os.path.join(self.target, relative_dir)
        os.makedirs(path, exist_ok=True)
        os.chmod(path, stat.S_IMODE(os.lstat(os.path.join(self.source, relative_dir)).st_mode) | 0o700)
        self._created.add(relative_dir)
        self.dirs.append(path)

    def copy(self):
        for path, st in self._walk():
            relative = os.path.relpath(path, self.source)
            inode = (st.st_dev, st.st_ino)
            if inode in self._first_path:
                self._make_dirs(os.path.dirname(relative))
                os.link(self._first_path[inode], os.path.join(self.target, relative))
                self.source_hard_links += 1
            elif (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode)) and self._kept(relative):
                self._copy(path, st, relative, inode)
        return self

    def _copy(self, path, st, relative, inode):
        self._make_dirs(os.path.dirname(relative))
        target = os.path.join(self.target, relative)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(path), target)
            return
        try:
            shutil.copyfile(path, target)
        except OSError:
            return
        os.chmod(target, stat.S_IMODE(st.st_mode))
        if st.st_nlink > 1:
            self._first_path[inode] = target
        self.files.append(target)
        self.copied += st.st_size


def mark_deleted(path, fmt):
    parent, name = os.path.split(path)
    if fmt == "oci":
        write_file(os.path.join(parent, ".wh." + name), b"", 0o644)
    else:
        os.mknod(path, stat.S_IFCHR, os.makedev(0, 0))


def mark_opaque(path, fmt):
    if fmt == "oci":
        write_file(os.path.join(path, ".wh..wh..opq"), b"", 0o644)
    else:
        os.setxattr(path, "trusted.overlay.opaque", b"y")


def make_mixed(diff, rng, seed, scale, pool, fmt, source):
    """A root file system: a sorted cut of a real tree plus links, whiteouts and opaque directories."""
    tree = TreeSample(source, os.path.join(diff, "usr"), seed, int(800 * MIB * scale)).copy()
    for d in ("etc", "opt/app/bin", "var/lib/app", "var/log", "tmp"):
        os.makedirs(os.path.join(diff, d), exist_ok=True)
    os.chmod(os.path.join(diff, "tmp"), 0o1777)
    write_file(os.path.join(diff, "etc", "hostname"), b"bench\n")

    links_dir = os.path.join(diff, "opt", "app", "bin")
    for n in range(200):
        first = rng.choice(tree.files)
        os.link(first, os.path.join(links_dir, f"link{n:03d}-{os.path.basename(first)}"))

    symlinks_dir = os.path.join(diff, "var", "lib", "app")
    for n in range(200):
        kind = rng.random()
        if kind < 0.45:
            target = os.path.relpath(rng.choice(tree.files), symlinks_dir)
        elif kind < 0.9:
            target = "/" + os.path.relpath(rng.choice(tree.files), diff)
        else:
            target = f"../gone/target{n:03d}"
        os.symlink(target, os.path.join(symlinks_dir, f"sym{n:03d}"))

    for n in range(300):
        mark_deleted(os.path.join(rng.choice(tree.dirs), f"deleted{n:03d}.{rng.choice(('so', 'conf', 'py', 'txt'))}"), fmt)

    for n, d in enumerate(("etc/ssl/certs", "opt/app/plugins", "usr/share/replaced", "var/cache/apt", "var/log/app")):
        path = os.path.join(diff, d)
        os.makedirs(path, exist_ok=True)
        for k in range(3):
            write_file(os.path.join(path, f"new{k}.txt"), pool.slice(rng, 500 + 300 * k + n))
        mark_opaque(path, fmt)

    return {"files": len(tree.files), "file_bytes": tree.copied, "source_hard_links": tree.source_hard_links,
            "hard_links": 200, "symlinks": 200, "whiteouts": 300, "opaque_dirs": 5, "source": source}


def pin_mtimes(root):
    for dirpath, dirnames, filenames in os.walk(root, topdown=False):
        for name in filenames + [d for d in dirnames if os.path.islink(os.path.join(dirpath, d))]:
            os.utime(os.path.join(dirpath, name), (PINNED_MTIME, PINNED_MTIME), follow_symlinks=False)
        os.utime(dirpath, (PINNED_MTIME, PINNED_MTIME), follow_symlinks=False)


def make_layer(store, shape, args, pool):
    layer = os.path.join(store, shape)
    if os.path.exists(layer):
        if not args.force:
            print(f"{shape:12} exists, kept (--force replaces it)")
            return None
        shutil.rmtree(layer)
    diff = os.path.join(layer, "diff")
    os.makedirs(diff)
    rng = random.Random(f"{shape}:{args.seed}")
    started = time.monotonic()
    if shape == "small-files":
        info = make_small_files(diff, rng, args.scale, pool)
    elif shape == "large-files":
        info = make_large_files(diff, rng, args.scale, pool)
    else:
        info = make_mixed(diff, rng, args.seed, args.scale, pool, args.format, args.mixed_source)
    pin_mtimes(diff)
    with open(os.path.join(layer, "layer.json"), "w") as f:
        json.dump({"parent": None}, f)
        f.write("\n")
    print(f"{shape:12} {info['files']:6} files {info['file_bytes'] / 1e6:8.1f} MB  {time.monotonic() - started:6.1f} s")
    return info


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", required=True, help="the store directory (created if missing)")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--format", choices=("overlay", "oci"), default="overlay")
    parser.add_argument("--shapes", default=",".join(SHAPES), help="comma-separated subset of " + ", ".join(SHAPES))
    parser.add_argument("--scale", type=float, default=1.0, help="size multiplier, e.g. 0.01 for a smoke test")
    parser.add_argument("--mixed-source", default="/usr", help="the tree the mixed shape copies")
    parser.add_argument("--force", action="store_true", help="replace layers that exist")
    args = parser.parse_args()

    shapes = [s for s in args.shapes.split(",") if s]
    unknown = [s for s in shapes if s not in SHAPES]
    if unknown:
        sys.exit(f"unknown shape(s): {', '.join(unknown)}")
    if args.scale <= 0:
        sys.exit("--scale must be positive")
    if args.format == "overlay" and "mixed" in shapes and os.geteuid() != 0:
        sys.exit("--format overlay needs root (mknod, trusted.* xattrs); use --format oci")

    os.makedirs(args.out, exist_ok=True)
    summary_path = os.path.join(args.out, "bench-store.json")
    summary = {"layers": {}}
    if os.path.exists(summary_path):
        with open(summary_path) as f:
            summary = json.load(f)
    summary.update({"seed": args.seed, "scale": args.scale, "format": args.format})
    pool = TextPool(args.seed)
    for shape in shapes:
        info = make_layer(args.out, shape, args, pool)
        if info is not None:
            summary["layers"][shape] = info
    with open(summary_path, "w") as f:
        json.dump(summary, f, indent=2, sort_keys=True)
        f.write("\n")


if __name__ == "__main__":
    main()
