#!/usr/bin/env python3
"""Our gzip at levels 1..6 against pigz at the same levels, on one shape, in interleaved rounds.

Starts one server per level (Export__Gzip__Level=N), all at once on free ports, so that every round runs every
level of ours and of `tar -cf - -C DIFF . | pigz -p CORES -N > /dev/null` in a rotating order. Sizes of pigz
are measured once on our own tar (the same bytes ours compresses). Prints medians and picks a default:

    the fastest level of ours whose output is at most --max-larger (default 2%) larger than pigz at that level

    run-gzip-levels.py --store /var/tmp/layerbench/store --shape mixed --rounds 5
"""
import argparse
import os
import sys

import benchkit as kit


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=os.path.join(kit.WORK, "store"))
    parser.add_argument("--shape", default="mixed")
    parser.add_argument("--levels", default="1,2,3,4,5,6")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--max-larger", type=float, default=0.02, help="allowed size excess over pigz at the same level")
    args = parser.parse_args()
    if args.rounds < 1:
        sys.exit("--rounds must be at least 1")

    kit.require_tools("curl", "tar", "pigz", "gzip", "cmp")
    cores = os.cpu_count()
    levels = [int(x) for x in args.levels.split(",")]
    diff = os.path.join(args.store, args.shape, "diff")
    url = f"/layers/{args.shape}/tar?compression=gzip"
    dll = kit.build_server()
    servers = {}
    try:
        for level in levels:
            servers[level] = kit.Server(dll, args.store, {"Export__Gzip__Level": str(level)}, name=f"gzip{level}")
        if args.shape not in servers[levels[0]].layers():
            sys.exit(f"store {args.store} has no layer {args.shape}; run make-layers.py")

        tars = os.path.join(kit.WORK, "tars")
        os.makedirs(tars, exist_ok=True)
        ours_tar = os.path.join(tars, f"{args.shape}.tar")
        kit.run(f"curl -sS -f -o '{ours_tar}' '{servers[levels[0]].base}/layers/{args.shape}/tar'")
        tar_bytes = os.path.getsize(ours_tar)
        gnu_tar_bytes = kit.size_of(f"tar -cf - -C '{diff}' .")
        pigz_bytes = {level: kit.size_of(f"pigz -p {cores} -{level} < '{ours_tar}'") for level in levels}
        for level in levels:
            kit.run(f"curl -sS -f '{servers[level].base}{url}' | gzip -dc | cmp - '{ours_tar}'")

        jobs = [("ours", level) for level in levels] + [("pigz", level) for level in levels]
        samples = {job: [] for job in jobs}
        loads = []
        print(f"{cores} cores, shape {args.shape}, levels {levels}, {args.rounds} rounds + 1 warm-up", file=sys.stderr)
        for n in range(args.rounds + 1):
            shift = (n * 5) % len(jobs)
            for kind, level in jobs[shift:] + jobs[:shift]:
                if kind == "ours":
                    seconds, cpu, size = kit.fetch(servers[level], url)
                else:
                    seconds, cpu, _ = kit.run(f"tar -cf - -C '{diff}' . | pigz -p {cores} -{level} > /dev/null")
                    size = pigz_bytes[level]
                if n > 0:
                    samples[(kind, level)].append((seconds, cpu, size))
            if n > 0:
                loads.append(os.getloadavg()[0])
                print(f"round {n}/{args.rounds} done, load {loads[-1]:.2f}", file=sys.stderr)
    finally:
        for server in servers.values():
            server.stop()

    results = {}
    for kind, level in jobs:
        runs = samples[(kind, level)]
        sizes = {size for _, _, size in runs}
        if len(sizes) != 1:
            sys.exit(f"{kind} level {level}: output size changed between rounds: {sorted(sizes)}")
        input_bytes = tar_bytes if kind == "ours" else gnu_tar_bytes
        seconds = kit.median([s for s, _, _ in runs])
        results[f"{kind}-{level}"] = {"seconds": seconds, "cpu": kit.median([c for _, c, _ in runs]),
                                      "mb_per_s": input_bytes / 1e6 / seconds, "output_bytes": sizes.pop(),
                                      "input_bytes": input_bytes}

    rows = []
    eligible = []
    for level in levels:
        ours, pigz = results[f"ours-{level}"], results[f"pigz-{level}"]
        excess = ours["output_bytes"] / pigz["output_bytes"] - 1
        if excess <= args.max_larger:
            eligible.append((ours["mb_per_s"], level))
        rows.append([level, f"{ours['mb_per_s']:.0f}", f"{pigz['mb_per_s']:.0f}", f"{ours['mb_per_s'] / pigz['mb_per_s']:.2f}x",
                     f"{ours['cpu']:.2f}", f"{pigz['cpu']:.2f}",
                     f"{ours['output_bytes'] / 1e6:.2f}", f"{pigz['output_bytes'] / 1e6:.2f}", f"{excess * 100:+.1f}%",
                     f"{ours['output_bytes'] / tar_bytes:.3f}", f"{pigz['output_bytes'] / tar_bytes:.3f}"])
    print(f"shape {args.shape}: our tar {tar_bytes / 1e6:.1f} MB, GNU tar {gnu_tar_bytes / 1e6:.1f} MB; medians of {args.rounds} rounds\n")
    print(kit.markdown_table(["level", "ours MB/s", "pigz MB/s", "ours/pigz speed", "ours CPU s", "pigz CPU s",
                              "ours MB", "pigz MB", "ours size vs pigz", "ours ratio", "pigz ratio"], rows))
    pick = max(eligible)[1] if eligible else None
    print(f"\ncriterion: fastest level of ours whose output is at most {args.max_larger:.0%} larger than pigz at that level"
          f" -> {pick if pick is not None else 'none qualifies'}")
    path = kit.save(f"gzip-levels-{args.shape}", {"machine": kit.machine(), "tools": kit.tool_versions(), "store": args.store,
                                                  "shape": args.shape, "rounds": args.rounds, "tar_bytes": tar_bytes,
                                                  "gnu_tar_bytes": gnu_tar_bytes, "results": results, "pick": pick,
                                                  "load_after_each_round": loads,
                                                  "raw": {f"{k}-{lv}": v for (k, lv), v in samples.items()}})
    print(f"load average (1 min) after each round: {' '.join(f'{x:.2f}' for x in loads)}; raw results: {path}")


if __name__ == "__main__":
    main()
