#!/usr/bin/env python3
"""Reads each writer's archive back with Python's tarfile and prints the comparison table (Markdown).

usage: report.py <run1-dir> <run2-dir> <throughput.tsv>
<run1-dir> holds entries.json, go.tar and <writer>.tar; <run2-dir> holds the same writers' archives from a
second process.
"""
import base64
import hashlib
import json
import sys
import tarfile

WRITERS = ["ours", "tarwriter", "sharpziplib"]
LARGE_ID = 3_000_000
XATTR_KEY = "SCHILY.xattr.user.bin"


def load_entries(path):
    with open(path, "rb") as f:
        raw = json.load(f)
    for e in raw:
        for key in ("name", "linkname", "data"):
            e[key] = base64.b64decode(e[key])
        e["xattrs"] = [(base64.b64decode(x["name"]), base64.b64decode(x["value"])) for x in e["xattrs"]]
    return raw


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def raw(text):
    return text.encode("utf-8", "surrogateescape")


def check(path, entries):
    """Counts, per property, how many entries read back exactly as written."""
    counts = {k: [0, 0] for k in ("names", "uid", "link150", "links", "xattr", "data", "other")}

    def tally(key, ok):
        counts[key][1] += 1
        counts[key][0] += bool(ok)

    with tarfile.open(path, "r:", encoding="utf-8", errors="surrogateescape") as tar:
        members = tar.getmembers()
        for e, m in zip(entries, members):
            is_dir = e["type"] == "5"
            expected_name = e["name"].rstrip(b"/") if is_dir else e["name"]
            tally("names", raw(m.name) == expected_name)
            if e["uid"] == LARGE_ID:
                tally("uid", m.uid == LARGE_ID and m.gid == LARGE_ID)
            if e["linkname"]:
                tally("links", raw(m.linkname) == e["linkname"])
                if len(e["linkname"]) == 150:
                    tally("link150", raw(m.linkname) == e["linkname"])
            for name, value in e["xattrs"]:
                got = m.pax_headers.get("SCHILY.xattr." + name.decode())
                tally("xattr", got is not None and raw(got) == value)
            if e["type"] == "0":
                tally("data", tar.extractfile(m).read() == e["data"])
            tally("other", m.type == e["type"].encode() and m.mode == e["mode"] and int(m.mtime) == e["mtime"])
        counts["names"][1] = max(counts["names"][1], len(entries))
    return counts


def main():
    run1, run2, throughput_tsv = sys.argv[1:4]
    entries = load_entries(f"{run1}/entries.json")
    go_sha = sha256(f"{run1}/go.tar")
    with open(throughput_tsv) as f:
        rows = [line.rstrip("\n").split("\t") for line in f]
    speed = {r[0]: dict(zip(rows[0], r)) for r in rows[1:]}

    print("| | " + " | ".join(WRITERS) + " |")
    print("|---" * (len(WRITERS) + 1) + "|")

    def row(label, values):
        print(f"| {label} | " + " | ".join(values) + " |")

    def ratio(c):
        ok, total = c
        return f"{ok}/{total}" + ("" if ok == total else " **lost**")

    row("archive bytes", [speed[w]["archive_bytes"] for w in WRITERS])
    row("median time, Stream.Null (ms)", [speed[w]["median_ms"] for w in WRITERS])
    row("entries/s", [speed[w]["entries_per_s"] for w in WRITERS])
    row("MiB/s of archive", [speed[w]["mib_per_s"] for w in WRITERS])
    row("same sha256 in two processes", ["yes" if sha256(f"{run1}/{w}.tar") == sha256(f"{run2}/{w}.tar") else "**no**" for w in WRITERS])
    row("byte-equal to Go archive/tar", ["yes" if sha256(f"{run1}/{w}.tar") == go_sha else "**no**" for w in WRITERS])
    results = {w: check(f"{run1}/{w}.tar", entries) for w in WRITERS}
    row("names read back (long, non-ASCII)", [ratio(results[w]["names"]) for w in WRITERS])
    row("uid/gid 3,000,000 read back", [ratio(results[w]["uid"]) for w in WRITERS])
    row("150-byte symlink target read back", [ratio(results[w]["link150"]) for w in WRITERS])
    row("all link names read back", [ratio(results[w]["links"]) for w in WRITERS])
    row("binary xattr value read back", [ratio(results[w]["xattr"]) for w in WRITERS])
    row("file data read back", [ratio(results[w]["data"]) for w in WRITERS])
    row("type, mode, mtime read back", [ratio(results[w]["other"]) for w in WRITERS])


if __name__ == "__main__":
    main()
