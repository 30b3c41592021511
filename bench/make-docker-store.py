#!/usr/bin/env python3
"""Turns a benchmark store (make-layers.py) into a Docker data-root, for measuring reassembled tars.

Each shape's layer is exported once as a plain tar by a Release build of the server, recorded with
`tar-split disasm` into `image/overlay2/layerdb/sha256/<chain ID>/tar-split.json.gz` (its `diff` is the tar's
sha256, and a base layer's chain ID is its diffID) and unpacked with GNU tar into `overlay2/<cache-id>/diff`, as
`docker pull` leaves a layer. Exports from the result are then reassembled from the record, byte for byte.

    make-docker-store.py --from /var/tmp/layerbench/store-full --out /var/tmp/layerbench/docker-full

Prints each shape's chain ID; serve the result with `--LayerStore:Layout=docker`.
"""
import argparse, hashlib, json, os, shutil, subprocess, sys

import benchkit

ap = argparse.ArgumentParser()
ap.add_argument("--from", dest="source", required=True, help="a store made by make-layers.py")
ap.add_argument("--out", required=True, help="the Docker data-root to make (must not exist)")
ap.add_argument("--shapes", default="small-files,large-files,mixed")
a = ap.parse_args()
benchkit.require_tools("curl", "tar", "tar-split")
if os.path.exists(a.out):
    sys.exit(f"{a.out} exists; remove it first")

layerdb = os.path.join(a.out, "image", "overlay2", "layerdb", "sha256")
work = os.path.join(a.out, "tars")
os.makedirs(layerdb)
server = benchkit.Server(benchkit.build_server(), a.source, name="docker-store")
chains = {}
try:
    for shape in a.shapes.split(","):
        tar = os.path.join(work, f"{shape}.tar")
        os.makedirs(work, exist_ok=True)
        benchkit.run(f"curl -sS -f -o '{tar}' '{server.base}/layers/{shape}/tar'")
        digest = hashlib.sha256()
        with open(tar, "rb") as f:
            for block in iter(lambda: f.read(1 << 20), b""):
                digest.update(block)
        chain = digest.hexdigest()
        layer = os.path.join(layerdb, chain)
        cache_id = hashlib.sha256(shape.encode()).hexdigest()
        diff = os.path.join(a.out, "overlay2", cache_id, "diff")
        os.makedirs(layer)
        os.makedirs(diff)
        benchkit.run(f"tar-split disasm --no-stdout --output '{layer}/tar-split.json.gz' '{tar}'")
        benchkit.run(f"tar --xattrs --xattrs-include='*' -xpf '{tar}' -C '{diff}'")
        for name, text in (("diff", f"sha256:{chain}"), ("cache-id", cache_id)):
            with open(os.path.join(layer, name), "w") as f:
                f.write(text)
        os.remove(tar)
        chains[shape] = chain
        print(f"{shape:12s} {chain}")
finally:
    server.stop()
    shutil.rmtree(work, ignore_errors=True)
with open(os.path.join(a.out, "bench-store.json"), "w") as f:
    json.dump(chains, f, indent=2)
