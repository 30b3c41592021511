#!/usr/bin/env python3
"""Issue 6's end-to-end comparison: our server against GNU tar, a static nginx, pigz and zstd, with the targets.

Builds src/LayerExportApi in Release, starts it on 127.0.0.1 (free port) over a store written by
make-layers.py (generated first, with --scale, when a shape is missing), saves our tar of each shape once and
serves those files with our own nginx on another 127.0.0.1 port. Then, per shape, in every round and in a
rotating order:

    curl -s -o /dev/null URL                   vs  tar -cf - -C DIFF . | cat > /dev/null
                                               vs  curl -s -o /dev/null NGINX/<shape>.tar  (the same bytes)
    curl -s -o /dev/null URL?compression=gzip  vs  tar -cf - -C DIFF . | pigz -p 2 -N > /dev/null
                                                   tar -cf - -C DIFF . | gzip -N > /dev/null  (no target)
    curl -s -o /dev/null URL?compression=zstd  vs  tar -cf - -C DIFF . | zstd -T2 -3 > /dev/null

N is the server's gzip level (its default unless --gzip-level). One warm-up round is not counted; ratios are
of median wall times for the same layer (reference seconds / ours), so higher is faster for us. Sizes of the
pigz output are measured once on our own tar, so both sides compress the same bytes. Last, a fresh server's
peak RSS (VmHWM) while 16 curl clients download large-files at once. For each speed target missed, a last table
gives the wall time that half the CPU of server and curl allows (curl shares the two cores), with and without the
sha256 a download of a layer state exported before still computes (a compressed body's own, decision 0017; none for
the plain tar, decision 0019), at this machine's measured SHA-256 speed.

Targets (issue 6): plain >= 1.3x GNU tar, or >= 0.9x the nginx static file where that is the lower of the two;
gzip >= 2x pigz with output <= 2% larger; zstd >= 1.0x; peak RSS <= 150 MB. Nothing is installed: a missing
tool stops the script with the Debian package to install.

    run-e2e.py --store /var/tmp/layerbench/store-issue6 --scale 0.25 --rounds 5
"""
import argparse
import os
import shutil
import subprocess
import sys

import benchkit as kit

SHAPES = ("small-files", "large-files", "mixed")
THREADS = 2
ZSTD_LEVEL = 3
RSS_CLIENTS = 16
RSS_SHAPE = "large-files"


def ensure_store(store, shapes, scale):
    """Runs make-layers.py for the shapes the store lacks."""
    missing = [s for s in shapes if not os.path.exists(os.path.join(store, s, "layer.json"))]
    if missing:
        print(f"generating {', '.join(missing)} in {store} at scale {scale}", file=sys.stderr)
        generator = os.path.join(os.path.dirname(os.path.abspath(__file__)), "make-layers.py")
        subprocess.run([sys.executable, generator, "--out", store, "--scale", str(scale), "--shapes", ",".join(missing)],
                       check=True)


def plan(shape, diff, level):
    """(key, label, where, what) of every timed pipeline: where is 'ours', 'nginx' or None (a shell pipeline)."""
    url = f"/layers/{shape}/tar"
    tar = f"tar -cf - -C '{diff}' ."
    return [
        ("ours-tar", "ours, plain", "ours", url),
        ("tar", "tar \\| cat", None, f"{tar} | cat > /dev/null"),
        ("nginx", "nginx, static file", "nginx", f"/{shape}.tar"),
        ("ours-gzip", f"ours, gzip {level}", "ours", url + "?compression=gzip"),
        ("pigz", f"tar \\| pigz -p {THREADS} -{level}", None, f"{tar} | pigz -p {THREADS} -{level} > /dev/null"),
        ("gzip", f"tar \\| gzip -{level}", None, f"{tar} | gzip -{level} > /dev/null"),
        ("ours-zstd", f"ours, zstd {ZSTD_LEVEL}", "ours", url + "?compression=zstd"),
        ("zstd", f"tar \\| zstd -T{THREADS} -{ZSTD_LEVEL}", None,
         f"{tar} | zstd -q -T{THREADS} -{ZSTD_LEVEL} -c > /dev/null"),
    ]


def one_round(servers, shapes, plans, shift, expected_sizes):
    """Every pipeline of every shape once, each shape's list rotated by `shift`: {(shape, key): (s, cpu s)}."""
    timings = {}
    for shape in shapes:
        for key, _, where, what in kit.rotated(plans[shape], shift):
            if where is None:
                seconds, cpu, _ = kit.run(what)
            else:
                seconds, cpu, size = kit.fetch(servers[where], what)
                expected = expected_sizes.get((shape, key))
                if expected is not None and size != expected:
                    sys.exit(f"{shape} {key}: {size} bytes, not {expected}")
            timings[(shape, key)] = (seconds, cpu)
    return timings


def peak_rss_under_load(dll, store, shape, clients, tar_size):
    """A fresh server: one warm-up download, then `clients` concurrent downloads; (MB before, peak MB, s)."""
    server = kit.Server(dll, store, name="rss")
    url = f"{server.base}/layers/{shape}/tar"
    try:
        kit.run(f"curl -sS -f -o /dev/null '{url}'")
        before = server.peak_rss_mb()
        script = (f"for i in $(seq {clients}); do curl -sS -f -o /dev/null -w '%{{size_download}}\\n' '{url}' & done; "
                  "wait")
        seconds, _, out = kit.run(script)
        sizes = [int(x) for x in out.split()]
        if len(sizes) != clients or any(s != tar_size for s in sizes):
            sys.exit(f"concurrent downloads of {shape}: sizes {sizes}, expected {clients} x {tar_size}")
        return before, server.peak_rss_mb(), seconds
    finally:
        server.stop()


def verdict(passed):
    return "PASS" if passed else "MISS"


def shape_table(shape, medians, sizes, rss):
    """Rows of ratios against their targets for one shape."""
    ours = {k: medians[k] for k in ("ours-tar", "ours-gzip", "ours-zstd")}
    vs_tar = medians["tar"] / ours["ours-tar"]
    vs_nginx = medians["nginx"] / ours["ours-tar"]

    # The plain target is the slower of "1.3x GNU tar" and "0.9x nginx"; meeting it is meeting either.
    tar_binding = 1.3 / medians["tar"] <= 0.9 / medians["nginx"]
    plain_passed = vs_tar >= 1.3 or vs_nginx >= 0.9
    gzip_speed = medians["pigz"] / ours["ours-gzip"]
    gzip_size = sizes["ours-gzip"] / sizes["pigz"]
    rows = [
        ["plain vs `tar \\| cat`", f"{vs_tar:.3f}x", ">= 1.3x" + (" (binding)" if tar_binding else ""),
         verdict(plain_passed) if tar_binding else "-"],
        ["plain vs nginx static file", f"{vs_nginx:.3f}x", ">= 0.9x" + ("" if tar_binding else " (binding)"),
         "-" if tar_binding else verdict(plain_passed)],
        ["gzip vs `tar \\| pigz -p 2`: speed", f"{gzip_speed:.3f}x", ">= 2x", verdict(gzip_speed >= 2)],
        ["gzip vs pigz: size (ours / pigz, same tar)", f"{gzip_size:.3f}", "<= 1.02", verdict(gzip_size <= 1.02)],
        ["gzip vs `tar \\| gzip`: speed", f"{medians['gzip'] / ours['ours-gzip']:.3f}x", "-", "-"],
        ["zstd vs `tar \\| zstd -T2 -3`", f"{medians['zstd'] / ours['ours-zstd']:.3f}x", ">= 1.0x",
         verdict(medians["zstd"] / ours["ours-zstd"] >= 1.0)],
    ]
    if rss is not None:
        before, peak, _ = rss
        rows.append([f"peak server RSS, {RSS_CLIENTS} clients at once (MB; {before:.0f} before)", f"{peak:.0f}",
                     "<= 150", verdict(peak <= 150)])
    return rows


def bound_rows(shape, medians, cpu, sizes, sha256_speed):
    """For each missed speed target: the least wall time the CPU of server and curl allows, with and without the sha256.

    curl shares the machine's cores with the server, so a download cannot take less than that CPU divided by the
    cores. The counted rounds download layer states exported before: a compressed one hashes only the bytes it sends
    (decision 0017), a plain one nothing with SHA-256 (decision 0019).
    """
    cores = os.cpu_count()
    targets = {
        "ours-tar": ("plain", max(medians["tar"] / 1.3, medians["nginx"] / 0.9)),
        "ours-gzip": ("gzip", medians["pigz"] / 2),
        "ours-zstd": ("zstd", medians["zstd"]),
    }
    rows = []
    for key, (label, target) in targets.items():
        if medians[key] <= target:
            continue
        hashed = sizes[key] if key != "ours-tar" else 0
        sha = hashed / sha256_speed
        rows.append([shape, label, f"{target:.3f}", f"{medians[key]:.3f}", f"{cpu[key]:.2f}", f"{cpu[key] / cores:.3f}",
                     f"{sha:.2f}", f"{(cpu[key] - sha) / cores:.3f}"])
    return rows


def detail_rows(shape, plan_rows, medians, cpu, tar_bytes):
    rows = []
    for key, label, where, _ in plan_rows:
        size = tar_bytes["ours"] if where is not None else tar_bytes["gnu"]
        rows.append([shape, label, f"{medians[key]:.3f}", f"{size / 1e6 / medians[key]:.0f}", f"{cpu[key]:.2f}"])
    return rows


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=os.path.join(kit.WORK, "store"))
    parser.add_argument("--rounds", type=int, default=5, help="counted rounds (the targets ask for at least 5)")
    parser.add_argument("--shapes", default=",".join(SHAPES))
    parser.add_argument("--scale", type=float, default=0.25, help="make-layers.py --scale, used only for missing shapes")
    parser.add_argument("--gzip-level", type=int, default=kit.default_gzip_level())
    parser.add_argument("--blob-cache", action="store_true",
                        help="keep compressed bodies (BlobCache:Directory, removed after the run): the counted rounds then "
                             "download the bodies the first downloads kept, not bodies compressed again")
    args = parser.parse_args()
    shapes = kit.checked_shapes(args, SHAPES)

    kit.require_tools("dotnet", "curl", "tar", "cat", "gzip", "pigz", "zstd", "cmp", "wc", "nginx")
    ensure_store(args.store, shapes, args.scale)
    dll = kit.build_server()
    tars = os.path.join(kit.WORK, "tars-e2e")
    settings = {"Export__Gzip__Level": str(args.gzip_level)}
    blobs = os.path.join(kit.WORK, "blobs", f"e2e-{os.getpid()}") if args.blob_cache else None
    if blobs is not None:
        settings.update({"BlobCache__Directory": blobs, "BlobCache__MaxBytes": str(64 << 30)})
    server = kit.Server(dll, args.store, settings, name="e2e")
    nginx = None
    loads = []
    rounds = []
    try:
        listed = server.layers()
        absent = [s for s in shapes if s not in listed]
        if absent:
            sys.exit(f"the server does not list {', '.join(absent)} in {args.store}")
        sizes = {}
        for shape in shapes:
            ours_tar = kit.save_bodies(server, shape, tars)
            diff = os.path.join(args.store, shape, "diff")
            sizes[shape] = {
                "ours-tar": os.path.getsize(ours_tar),
                "gnu-tar": kit.size_of(f"tar -cf - -C '{diff}' ."),
                "ours-gzip": os.path.getsize(ours_tar + ".gz"),
                "pigz": kit.size_of(f"pigz -p {THREADS} -{args.gzip_level} < '{ours_tar}'"),
                "ours-zstd": os.path.getsize(ours_tar + ".zst"),
                "zstd": kit.size_of(f"zstd -q -T{THREADS} -{ZSTD_LEVEL} -c < '{ours_tar}'"),
            }
        nginx = kit.StaticFileServer(tars, THREADS)
        nginx.wait_ready(f"{shapes[0]}.tar")
        servers = {"ours": server, "nginx": nginx}
        plans = {s: plan(s, os.path.join(args.store, s, "diff"), args.gzip_level) for s in shapes}
        expected = {}
        for s in shapes:
            expected[(s, "ours-tar")] = expected[(s, "nginx")] = sizes[s]["ours-tar"]
            expected[(s, "ours-gzip")] = sizes[s]["ours-gzip"]
            expected[(s, "ours-zstd")] = sizes[s]["ours-zstd"]
        kept = "; compressed bodies kept (BlobCache) since the first download" if blobs is not None else ""
        print(f"{os.cpu_count()} cores, gzip level {args.gzip_level}{kept}, {args.rounds} rounds + 1 warm-up; "
              f"load before: {os.getloadavg()[0]:.2f}", file=sys.stderr)
        one_round(servers, shapes, plans, 0, expected)
        for n in range(args.rounds):
            rounds.append(one_round(servers, shapes, plans, n, expected))
            loads.append(os.getloadavg()[0])
            print(f"round {n + 1}/{args.rounds}, load {loads[-1]:.2f}", file=sys.stderr)
    finally:
        if nginx is not None:
            nginx.stop()
        server.stop()
        if blobs is not None:
            shutil.rmtree(blobs, ignore_errors=True)

    rss = None
    if RSS_SHAPE in shapes:
        rss = peak_rss_under_load(dll, args.store, RSS_SHAPE, RSS_CLIENTS, sizes[RSS_SHAPE]["ours-tar"])
        print(f"peak RSS with {RSS_CLIENTS} clients: {rss[1]:.0f} MB, load {os.getloadavg()[0]:.2f}", file=sys.stderr)

    sha256_speed = kit.sha256_bytes_per_second()
    results = {}
    details = []
    bounds = []
    for shape in shapes:
        keys = [key for key, _, _, _ in plans[shape]]
        medians = {k: kit.median([r[(shape, k)][0] for r in rounds]) for k in keys}
        cpu = {k: kit.median([r[(shape, k)][1] for r in rounds]) for k in keys}
        shape_rss = rss if shape == RSS_SHAPE else None
        rows = shape_table(shape, medians, sizes[shape], shape_rss)
        s = sizes[shape]
        print(f"\n### {shape}: ours {s['ours-tar'] / 1e6:.1f} MB tar, GNU tar {s['gnu-tar'] / 1e6:.1f} MB\n")
        print(kit.markdown_table(["comparison", "ratio", "target", "result"], rows))
        print("\nper round (the medians above can hide a spread):")
        for ours, reference, label in (("ours-tar", "tar", "plain vs `tar | cat`"), ("ours-tar", "nginx", "plain vs nginx"),
                                       ("ours-gzip", "pigz", "gzip vs pigz"), ("ours-zstd", "zstd", "zstd vs zstd")):
            per_round = [r[(shape, reference)][0] / r[(shape, ours)][0] for r in rounds]
            print(f"- {label}: {' '.join(f'{x:.2f}x' for x in per_round)}")
        details += detail_rows(shape, plans[shape], medians, cpu, {"ours": s["ours-tar"], "gnu": s["gnu-tar"]})
        bounds += bound_rows(shape, medians, cpu, s, sha256_speed)
        results[shape] = {"median_seconds": medians, "median_cpu_seconds": cpu, "sizes": s,
                          "ratios": {row[0]: row[1] for row in rows}, "results": {row[0]: row[3] for row in rows}}
        if shape_rss is not None:
            results[shape]["rss"] = {"clients": RSS_CLIENTS, "mb_before": shape_rss[0], "peak_mb": shape_rss[1],
                                     "seconds": shape_rss[2]}

    print("\n### medians\n")
    print(kit.markdown_table(["shape", "pipeline", "median s", "MB/s (own tar bytes)", "CPU s"], details))
    if bounds:
        print(f"\n### missed speed targets: the bound the CPU sets (sha256 here: {sha256_speed / 1e9:.2f} GB/s)\n")
        print(kit.markdown_table(["shape", "pipeline", "target s", "ours s", "CPU s, server + curl",
                                  f"CPU / {os.cpu_count()}", "sha256 CPU s", f"(CPU - sha256) / {os.cpu_count()}"], bounds))
    note = "" if args.rounds >= 5 else " (fewer than the 5 rounds the targets ask for)"
    print(f"\n{args.rounds} rounds{note}; load average (1 min) after each round: "
          f"{' '.join(f'{x:.2f}' for x in loads)}")
    path = kit.save("e2e", {"machine": kit.machine(), "tools": kit.tool_versions(nginx="nginx -v"), "store": args.store,
                            "gzip_level": args.gzip_level, "blob_cache": args.blob_cache, "rounds": args.rounds, "load_after_each_round": loads,
                            "sha256_bytes_per_second": sha256_speed, "results": results,
                            "raw": [{f"{s}/{k}": v for (s, k), v in r.items()} for r in rounds]})
    print(f"raw results: {path}")


if __name__ == "__main__":
    main()
