#!/usr/bin/env python3
"""Our server against GNU tar piped into gzip, pigz and zstd, per layer shape, in interleaved rounds.

Builds src/LayerExportApi in Release, starts it on 127.0.0.1 (free port) over a store written by
make-layers.py, and per shape times, in every round and in a rotating order:

    curl -s -o /dev/null URL                     vs  tar -cf - -C DIFF . | cat > /dev/null
    curl -s -o /dev/null URL?compression=gzip    vs  tar ... | gzip -N > /dev/null,  tar ... | pigz -p CORES -N > /dev/null
    curl -s -o /dev/null URL?compression=zstd    vs  tar ... | zstd -T CORES -3 > /dev/null

N is the server's gzip level (its default unless --gzip-level). One warm-up round is not counted; the
table shows medians. MB/s is uncompressed tar bytes (ours or GNU tar's own) per wall second. Compressed
sizes of the references are measured once on our own tar, so both sides compress the same bytes; before
timing, our gzip and zstd bodies are checked to decompress to our plain tar.

    make-layers.py --out /var/tmp/layerbench/store --scale 0.25
    run-codecs.py --store /var/tmp/layerbench/store --rounds 5
"""
import argparse
import os
import sys

import benchkit as kit

SHAPES = ("small-files", "large-files", "mixed")


def pipelines(shape, diff, level, cores):
    url = f"/layers/{shape}/tar"
    tar = f"tar -cf - -C '{diff}' ."
    return [
        ("ours-tar", "tar", "ours, plain", url, None),
        ("tar", "tar", "tar \\| cat", None, f"{tar} | cat > /dev/null"),
        ("ours-gzip", "gzip", f"ours, gzip {level}", url + "?compression=gzip", None),
        ("gzip", "gzip", f"tar \\| gzip -{level}", None, f"{tar} | gzip -{level} > /dev/null"),
        ("pigz", "gzip", f"tar \\| pigz -p {cores} -{level}", None, f"{tar} | pigz -p {cores} -{level} > /dev/null"),
        ("ours-zstd", "zstd", "ours, zstd 3", url + "?compression=zstd", None),
        ("zstd", "zstd", f"tar \\| zstd -T{cores} -3", None, f"{tar} | zstd -q -T{cores} -3 -c > /dev/null"),
    ]


def reference_sizes(server, shape, diff, level, cores):
    """Our plain tar and bodies saved once (WORK/tars); every codec's output size on those same bytes; our bodies checked."""
    ours = kit.save_bodies(server, shape, os.path.join(kit.WORK, "tars"))
    return {
        "ours-tar": os.path.getsize(ours),
        "tar": kit.size_of(f"tar -cf - -C '{diff}' ."),
        "gzip": kit.size_of(f"gzip -{level} < '{ours}'"),
        "pigz": kit.size_of(f"pigz -p {cores} -{level} < '{ours}'"),
        "zstd": kit.size_of(f"zstd -q -T{cores} -3 -c < '{ours}'"),
    }


def one_round(server, shapes, plans, order_shift):
    """Runs every pipeline of every shape once; returns {(shape, key): (seconds, cpu, bytes or None)}."""
    timings = {}
    for shape in shapes:
        for key, _, _, url, command in kit.rotated(plans[shape], order_shift):
            if url is not None:
                timings[(shape, key)] = kit.fetch(server, url)
            else:
                seconds, cpu, _ = kit.run(command)
                timings[(shape, key)] = (seconds, cpu, None)
    return timings


def summarize(shape, plan, sizes, rounds):
    """Rows of medians for one shape, with ours-versus-reference ratios."""
    medians = {}
    for key, group, label, url, _ in plan:
        seconds = kit.median([r[(shape, key)][0] for r in rounds])
        cpu = kit.median([r[(shape, key)][1] for r in rounds])
        bodies = {r[(shape, key)][2] for r in rounds if r[(shape, key)][2] is not None}
        if len(bodies) > 1:
            sys.exit(f"{shape} {key}: body size changed between rounds: {sorted(bodies)}")
        tar_bytes = sizes["ours-tar"] if url is not None else sizes["tar"]
        output = bodies.pop() if bodies else sizes.get(key, sizes["tar"])
        medians[key] = {"group": group, "label": label, "seconds": seconds, "cpu": cpu, "tar_bytes": tar_bytes,
                        "mb_per_s": tar_bytes / 1e6 / seconds, "output_bytes": output}
    rows = []
    for key, group, label, url, _ in plan:
        m = medians[key]
        ours = medians[f"ours-{group}" if group != "tar" else "ours-tar"]
        speed = "" if url is not None else f"{ours['mb_per_s'] / m['mb_per_s']:.2f}x"
        size = "" if url is not None or group == "tar" else f"{ours['output_bytes'] / m['output_bytes']:.3f}"
        rows.append([shape, label, f"{m['tar_bytes'] / 1e6:.1f}", f"{m['seconds']:.2f}", f"{m['mb_per_s']:.0f}",
                     f"{m['cpu']:.2f}", f"{m['output_bytes'] / 1e6:.1f}", f"{m['output_bytes'] / m['tar_bytes']:.3f}",
                     speed, size])
    return medians, rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=os.path.join(kit.WORK, "store"))
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--gzip-level", type=int, default=kit.default_gzip_level())
    args = parser.parse_args()
    if args.rounds < 1:
        sys.exit("--rounds must be at least 1")

    kit.require_tools("curl", "tar", "gzip", "pigz", "zstd", "cmp")
    cores = os.cpu_count()
    shapes = [s for s in args.shapes.split(",") if s]
    dll = kit.build_server()
    server = kit.Server(dll, args.store, {"Export__Gzip__Level": str(args.gzip_level)}, name="codecs")
    try:
        missing = [s for s in shapes if s not in server.layers()]
        if missing:
            sys.exit(f"store {args.store} has no layer(s) {', '.join(missing)}; run make-layers.py")
        diffs = {s: os.path.join(args.store, s, "diff") for s in shapes}
        plans = {s: pipelines(s, diffs[s], args.gzip_level, cores) for s in shapes}
        sizes = {s: reference_sizes(server, s, diffs[s], args.gzip_level, cores) for s in shapes}
        print(f"{cores} cores, gzip level {args.gzip_level}, {args.rounds} rounds + 1 warm-up", file=sys.stderr)
        one_round(server, shapes, plans, 0)
        rounds = []
        loads = []
        for n in range(args.rounds):
            rounds.append(one_round(server, shapes, plans, n))
            loads.append(os.getloadavg()[0])
            print(f"round {n + 1}/{args.rounds} done, load {loads[-1]:.2f}", file=sys.stderr)
    finally:
        server.stop()

    header = ["shape", "pipeline", "tar MB", "median s", "MB/s", "CPU s", "output MB", "output/tar",
              "ours speed / this", "ours size / this"]
    rows = []
    results = {}
    for shape in shapes:
        results[shape], shape_rows = summarize(shape, plans[shape], sizes[shape], rounds)
        rows += shape_rows
    print(kit.markdown_table(header, rows))
    path = kit.save("codecs", {"machine": kit.machine(), "tools": kit.tool_versions(), "store": args.store,
                               "gzip_level": args.gzip_level, "rounds": args.rounds, "load_after_each_round": loads,
                               "sizes": sizes, "results": results,
                               "raw": [{f"{s}/{k}": v for (s, k), v in r.items()} for r in rounds]})
    print(f"\nload average (1 min) after each round: {' '.join(f'{x:.2f}' for x in loads)}; raw results: {path}")


if __name__ == "__main__":
    main()
