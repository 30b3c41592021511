#!/usr/bin/env python3
"""How much of a plain-tar GET is the survey: HEAD (survey only, no file read) against GET, per shape.

Every tar response starts with a metadata walk of the layer (exact Content-Length, fingerprint); HEAD does
only that. Interleaved rounds, medians. For scale, a bare lstat walk of the same tree:
`find DIFF -printf '%s %m\n' > /dev/null` (no xattrs, no hashing, no HTTP).

    run-survey.py --store /var/tmp/layerbench/store --rounds 7
"""
import argparse
import os
import sys

import benchkit as kit

SHAPES = ("small-files", "large-files", "mixed")


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=os.path.join(kit.WORK, "store"))
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    if args.rounds < 1:
        sys.exit("--rounds must be at least 1")

    kit.require_tools("curl", "find")
    dll = kit.build_server()
    server = kit.Server(dll, args.store, name="survey")
    jobs = []
    for shape in SHAPES:
        url = f"{server.base}/layers/{shape}/tar"
        jobs += [(shape, "HEAD", f"curl -sS -f -I -o /dev/null '{url}'"),
                 (shape, "GET", f"curl -sS -f -o /dev/null '{url}'"),
                 (shape, "find", f"find '{os.path.join(args.store, shape, 'diff')}' -printf '%s %m\\n' > /dev/null")]
    samples = {(shape, kind): [] for shape, kind, _ in jobs}
    try:
        for n in range(args.rounds + 1):
            shift = n % len(jobs)
            for shape, kind, command in jobs[shift:] + jobs[:shift]:
                seconds = kit.run(command)[0]
                if n > 0:
                    samples[(shape, kind)].append(seconds)
    finally:
        server.stop()

    rows = []
    for shape in SHAPES:
        head, get, walk = (kit.median(samples[(shape, k)]) for k in ("HEAD", "GET", "find"))
        rows.append([shape, f"{head:.3f}", f"{get:.3f}", f"{head / get:.0%}", f"{walk:.3f}"])
    print(kit.markdown_table(["shape", "HEAD s (survey)", "GET s (plain tar)", "HEAD / GET", "find (lstat walk) s"], rows))
    print(f"\nmedians of {args.rounds} rounds; load average now {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
