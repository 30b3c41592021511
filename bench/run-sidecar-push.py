#!/usr/bin/env python3
"""A registry push sidecar's pull of a new layer state: its descriptor first, then its body, with BlobCache on.

A push needs the digest and size before the upload (to ask the registry whether it has the blob, to name it in the
manifest), so a sidecar asks `/layers/<id>/descriptor?compression=C`, then downloads `/layers/<id>/tar?compression=C`.
Builds src/LayerExportApi in Release ("new") and starts it beside `--before`, another build's LayerExportApi.dll (from
a worktree of an older commit), both on 127.0.0.1 over the same store with a BlobCache each and DigestCache:SettleTime
0 (a state made a moment ago is kept at once). Per shape and representation, in every round, in a rotating order and
with the two servers' order alternating, for each server:

    the layer's state is made new (one file's mode set to what it is, which moves its ctime: same bytes, new state),
    the server's kept bodies are removed, then the descriptor and the body are downloaded with curl: the "push".

Beside them, once a case a round, the one-pass pipeline a sidecar without the server would run:
`tar -cf - -C <diff> . | pigz -p 2 -<level> | cat > /dev/null` (gzip) or `| zstd -T2 -3 | cat > /dev/null` (zstd).
Prints median wall and CPU (servers + curl) of each and the ratios before / new (how much faster the new push is)
and pipeline / new (above 1: the whole push, descriptor and body, takes less than making the body once by the
pipeline). Every body's size is checked against the descriptor's and the other server's.

    run-sidecar-push.py --store /var/tmp/layerbench/store-full --before /tmp/wt-old/src/LayerExportApi/bin/Release/net10.0/LayerExportApi.dll
"""
import argparse
import glob
import json
import os
import shutil
import sys
import time
import urllib.request

import benchkit as kit

SHAPES = ("small-files", "large-files", "mixed")
CODECS = ("gzip", "zstd")


def renew_state(diff):
    """Moves the ctime of the first regular file under `diff` (sorted walk), which makes the layer's state a new one."""
    for directory, subdirectories, files in os.walk(diff):
        subdirectories.sort()
        for name in sorted(files):
            path = os.path.join(directory, name)
            if os.path.isfile(path) and not os.path.islink(path):
                os.chmod(path, os.stat(path).st_mode & 0o7777)
                return
    sys.exit(f"{diff}: no regular file to renew the state with")


def push(server, blobs, shape, codec):
    """Descriptor then body; returns (wall s, CPU s of server + curl, body bytes, descriptor size)."""
    for kept in glob.glob(os.path.join(blobs, "sha256-*")):
        os.remove(kept)
    server_before = server.cpu_seconds()
    started = time.perf_counter()
    with urllib.request.urlopen(f"{server.base}/layers/{shape}/descriptor?compression={codec}", timeout=600) as response:
        described = json.load(response)
    descriptor_cpu = server.cpu_seconds() - server_before
    _, body_cpu, size = kit.fetch(server, f"/layers/{shape}/tar?compression={codec}")
    return time.perf_counter() - started, descriptor_cpu + body_cpu, size, described["size"]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True)
    parser.add_argument("--before", required=True, help="the LayerExportApi.dll to compare with")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    args = parser.parse_args()
    shapes = kit.checked_shapes(args, SHAPES)
    if not os.path.isfile(args.before):
        sys.exit(f"--before: {args.before} is not a file")

    kit.require_tools("dotnet", "curl", "tar", "pigz", "zstd")
    level = kit.default_gzip_level()
    dll = kit.build_server()
    servers = {}
    blob_dirs = {}
    samples = {}
    try:
        for label, path in (("before", args.before), ("new", dll)):
            blob_dirs[label] = os.path.join(kit.WORK, "blobs", f"push-{label}-{os.getpid()}")
            servers[label] = kit.Server(path, args.store, {
                "BlobCache__Directory": blob_dirs[label],
                "BlobCache__MaxBytes": str(64 << 30),
                "DigestCache__SettleTime": "00:00:00",
            }, name=f"push-{label}")
        cases = [(shape, codec) for shape in shapes for codec in CODECS]
        for n in range(args.rounds + 1):
            for shape, codec in kit.rotated(cases, n):
                diff = os.path.join(args.store, shape, "diff")
                order = ["before", "new"] if n % 2 == 0 else ["new", "before"]
                sizes = set()
                for label in order:
                    renew_state(diff)
                    wall, cpu, size, described = push(servers[label], blob_dirs[label], shape, codec)
                    if size != described:
                        sys.exit(f"{shape} {codec}: {label} sent {size} bytes, its descriptor said {described}")
                    sizes.add(size)
                    if n > 0:
                        samples.setdefault((shape, codec, label), []).append((wall, cpu))
                if len(sizes) != 1:
                    sys.exit(f"{shape} {codec}: the two servers sent bodies of {sorted(sizes)} bytes")
                compressor = f"pigz -p 2 -{level}" if codec == "gzip" else "zstd -T2 -3 -q"
                seconds, cpu, _ = kit.run(f"tar -cf - -C '{diff}' . | {compressor} | cat > /dev/null")
                if n > 0:
                    samples.setdefault((shape, codec, "pipeline"), []).append((seconds, cpu))
            if n > 0:
                print(f"round {n}/{args.rounds}, load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    finally:
        for server in servers.values():
            server.stop()
        for directory in blob_dirs.values():
            shutil.rmtree(directory, ignore_errors=True)

    rows = []
    results = {}
    labels = ("before", "new", "pipeline")
    for shape in shapes:
        for codec in CODECS:
            wall = {x: kit.median([s[0] for s in samples[(shape, codec, x)]]) for x in labels}
            cpu = {x: kit.median([s[1] for s in samples[(shape, codec, x)]]) for x in labels}
            rows.append([shape, codec, *(f"{wall[x]:.3f} ({cpu[x]:.2f})" for x in labels),
                         f"{wall['before'] / wall['new']:.2f}x", f"{wall['pipeline'] / wall['new']:.2f}x"])
            results[f"{shape}/{codec}"] = {"median_seconds": wall, "median_cpu_seconds": cpu}
    print(kit.markdown_table(["shape", "body", "before s (CPU)", "new s (CPU)", "pipeline s (CPU)",
                              "before / new", "pipeline / new"], rows))
    path = kit.save("sidecar-push", {"machine": kit.machine(), "store": args.store, "before": args.before,
                                     "rounds": args.rounds, "gzip_level": level, "results": results})
    print(f"raw results: {path}")


if __name__ == "__main__":
    main()
