#!/usr/bin/env python3
"""Deflate alone, one thread, per level: our block gzip and libdeflate against pigz, on the same tar files.

Issue 6's gzip target is a ratio to `pigz -p 2` at the same level. This sets the three encoders side by side
without HTTP, tar generation or hashing: per tar and level, in every round and in a rotating order,

    DeflateLevels ours L TAR        our BlockGzipStream with one thread (zlib-ng, independent 1 MiB blocks)
    DeflateLevels libdeflate L TAR  Debian's libdeflate over the same 1 MiB blocks (deflate output only)
    pigz -p 1 -L -c TAR             classic zlib; pigz's bytes do not depend on its thread count

and prints medians of each process's CPU seconds (user + system), its output size, and the ratios pigz CPU / this
(higher is faster) and this size / pigz size. The tars are files such as the ones run-e2e.py saves
(/var/tmp/layerbench/tars-e2e/<shape>.tar). Nothing is installed: a missing tool stops the script with the Debian
package to install (libdeflate0 for the library).

    run-deflate-levels.py --tars /var/tmp/layerbench/tars-e2e --levels 1,2,4,6 --rounds 3
"""
import argparse
import ctypes.util
import os
import subprocess
import sys

import benchkit as kit

SHAPES = ("small-files", "large-files", "mixed")
ENCODERS = ("ours", "libdeflate", "pigz")


def command(encoder, level, tar, tool):
    if encoder == "pigz":
        return f"pigz -p 1 -{level} -c '{tar}' | wc -c"
    return f"'{tool}' {encoder} {level} '{tar}'"


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--tars", default=os.path.join(kit.WORK, "tars-e2e"))
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--levels", default="1,2,4,6")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    if args.rounds < 1:
        sys.exit("--rounds must be at least 1")

    kit.require_tools("pigz", "wc")
    if ctypes.util.find_library("deflate") is None:
        sys.exit("libdeflate is missing; install the Debian package libdeflate0: apt-get install -y libdeflate0")
    tars = {s: os.path.join(args.tars, f"{s}.tar") for s in args.shapes.split(",")}
    missing = [t for t in tars.values() if not os.path.exists(t)]
    if missing:
        sys.exit(f"no such tar: {', '.join(missing)} (run-e2e.py saves one per shape in --tars)")
    levels = [int(x) for x in args.levels.split(",")]

    project = os.path.join(kit.REPO, "bench", "DeflateLevels")
    subprocess.run(["dotnet", "build", project, "-c", "Release", "--nologo", "-v", "quiet"], check=True, stdout=subprocess.DEVNULL)
    tool = os.path.join(project, "bin", "Release", "net10.0", "DeflateLevels")

    cpu = {}
    size = {}
    for round_index in range(args.rounds):
        for shape, tar in tars.items():
            for level in levels:
                for encoder in kit.rotated(ENCODERS, round_index + level):
                    _, seconds, out = kit.run(command(encoder, level, tar, tool))
                    cpu.setdefault((shape, level, encoder), []).append(seconds)
                    size[(shape, level, encoder)] = int(out.split()[0])
        print(f"round {round_index + 1} of {args.rounds} done, load {os.getloadavg()[0]:.1f}", file=sys.stderr)

    print(f"{os.cpu_count()} cores, one thread each, {args.rounds} rounds, medians of CPU seconds (user + system)")
    results = []
    for shape, tar in tars.items():
        rows = []
        for level in levels:
            median = {e: kit.median(cpu[(shape, level, e)]) for e in ENCODERS}
            mb = {e: size[(shape, level, e)] / 1e6 for e in ENCODERS}
            row = [level] + [f"{median[e]:.2f} s / {mb[e]:.1f}" for e in ENCODERS]
            row += [f"{median['pigz'] / median[e]:.2f}x, {100 * (mb[e] / mb['pigz'] - 1):+.1f}%" for e in ENCODERS[:2]]
            rows.append(row)
            results.append({"shape": shape, "level": level, "cpu_seconds": median, "bytes": {e: size[(shape, level, e)] for e in ENCODERS}})
        print(f"\n`{shape}` ({os.path.getsize(tar) / 1e6:.0f} MB tar):\n")
        print(kit.markdown_table(
            ["level", "ours CPU / MB", "libdeflate CPU / MB", "pigz CPU / MB", "ours: speed, size vs pigz", "libdeflate: speed, size vs pigz"],
            rows))
    path = kit.save("deflate-levels", {"rounds": args.rounds, "machine": kit.machine(), "results": results,
                                        "versions": kit.tool_versions(libdeflate="dpkg-query -W libdeflate0")})
    print(f"\nsaved {path}", file=sys.stderr)


if __name__ == "__main__":
    main()
