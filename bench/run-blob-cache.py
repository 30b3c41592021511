#!/usr/bin/env python3
"""What keeping compressed bodies (BlobCache, decision 0020) costs the download that keeps one and gives a later one.

Builds src/LayerExportApi in Release and starts it twice on 127.0.0.1 over the same store: "off" without a
BlobCache, "on" with one (a directory under the work directory, removed afterwards). Both keep digests, so after the
warm-up every download is of a layer state whose digest is known. Per shape and representation, in every round and
in a rotating order:

    off      curl -s -o /dev/null OFF/layers/<shape>/tar?compression=C   the body made, as without the cache
    keeping  the body's kept file removed, then the same from ON          made, copied and kept again
    kept     the same from ON once more                                   read back from the kept file

The very first download of a state keeps nothing (it only learns the digest) and costs what "off" does; the
warm-up round, not counted, holds it. Prints median wall and CPU (server + curl) and two ratios: keeping / off
(what keeping costs the download that keeps; 1.00 is nothing) and off / kept (how much faster a download of a kept
body is).
Every download's size is checked against the others'.

    run-blob-cache.py --store /var/tmp/layerbench/store-full --rounds 5
"""
import argparse
import glob
import os
import shutil
import sys

import benchkit as kit

SHAPES = ("small-files", "large-files", "mixed")
CODECS = ("gzip", "zstd")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", required=True)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    args = parser.parse_args()
    shapes = kit.checked_shapes(args, SHAPES)

    kit.require_tools("dotnet", "curl")
    dll = kit.build_server()
    blobs = os.path.join(kit.WORK, "blobs", f"ab-{os.getpid()}")
    off = kit.Server(dll, args.store, name="blob-off")
    on = None
    samples = {}
    try:
        on = kit.Server(dll, args.store, {"BlobCache__Directory": blobs, "BlobCache__MaxBytes": str(64 << 30)}, name="blob-on")
        cases = [(shape, codec) for shape in shapes for codec in CODECS]
        sizes = {}
        for n in range(args.rounds + 1):
            for shape, codec in kit.rotated(cases, n):
                url = f"/layers/{shape}/tar?compression={codec}"
                steps = [("off", off, False), ("keeping", on, True), ("kept", on, False)]
                # The off server's place in the round moves; keeping must come before kept.
                if n % 2:
                    steps = steps[1:] + steps[:1]
                for label, server, forget in steps:
                    if forget:
                        for kept in glob.glob(os.path.join(blobs, "sha256-*")):
                            if os.path.getsize(kept) == sizes.get((shape, codec), -1):
                                os.remove(kept)
                    seconds, cpu, size = kit.fetch(server, url)
                    if sizes.setdefault((shape, codec), size) != size:
                        sys.exit(f"{url}: {label} sent {size} bytes, another download {sizes[(shape, codec)]}")
                    if n > 0:
                        samples.setdefault((shape, codec, label), []).append((seconds, cpu))
            if n > 0:
                print(f"round {n}/{args.rounds}, load {os.getloadavg()[0]:.2f}", file=sys.stderr)
    finally:
        off.stop()
        if on is not None:
            on.stop()
        shutil.rmtree(blobs, ignore_errors=True)

    rows = []
    results = {}
    for shape in shapes:
        for codec in CODECS:
            wall = {label: kit.median([s[0] for s in samples[(shape, codec, label)]]) for label in ("off", "keeping", "kept")}
            cpu = {label: kit.median([s[1] for s in samples[(shape, codec, label)]]) for label in ("off", "keeping", "kept")}
            rows.append([shape, codec, f"{sizes[(shape, codec)] / 1e6:.0f}",
                         *(f"{wall[x]:.3f} ({cpu[x]:.2f})" for x in ("off", "keeping", "kept")),
                         f"{wall['keeping'] / wall['off']:.2f}x", f"{wall['off'] / wall['kept']:.2f}x"])
            results[f"{shape}/{codec}"] = {"bytes": sizes[(shape, codec)], "median_seconds": wall, "median_cpu_seconds": cpu}
    print(kit.markdown_table(["shape", "body", "MB", "off s (CPU)", "keeping s (CPU)", "kept s (CPU)",
                              "keeping / off", "off / kept"], rows))
    path = kit.save("blob-cache", {"machine": kit.machine(), "store": args.store, "rounds": args.rounds, "results": results})
    print(f"raw results: {path}")


if __name__ == "__main__":
    main()
