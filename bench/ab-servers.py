#!/usr/bin/env python3
"""Interleaved A/B of two or more builds of the server on one store.

Each server (name=path/to/LayerExportApi.dll, e.g. a Release build of an older commit made in a git worktree) is
started on its own free 127.0.0.1 port with the digest cache in memory. Each path is downloaded with
`curl -o /dev/null` from every server in turn, the order reversed every other round; one warm-up round is not
counted. Prints per path and server the median wall time and the median server CPU (utime + stime from /proc)
of a download, with ratios to the first server: wall as old / new (higher is faster), CPU as new / old.

    ab-servers.py old=/tmp/old/LayerExportApi.dll new=src/LayerExportApi/bin/Release/net10.0/LayerExportApi.dll \
        --store /var/tmp/layerbench/store-full --paths '/layers/mixed/tar?compression=zstd' --rounds 7
"""
import argparse, os, socket, statistics, subprocess, sys, time, json

def free_port():
    s = socket.socket(); s.bind(("127.0.0.1", 0)); p = s.getsockname()[1]; s.close(); return p

def cpu(pid):
    with open(f"/proc/{pid}/stat") as f:
        parts = f.read().rsplit(")", 1)[1].split()
    return (int(parts[11]) + int(parts[12])) / os.sysconf("SC_CLK_TCK")

ap = argparse.ArgumentParser()
ap.add_argument("servers", nargs="+", help="name=path/to/LayerExportApi.dll")
ap.add_argument("--store", required=True)
ap.add_argument("--paths", default="/layers/large-files/tar?compression=zstd")
ap.add_argument("--rounds", type=int, default=7)
ap.add_argument("--setting", action="append", default=[], help="Key=Value for every server; {name} in it is the server's name")
a = ap.parse_args()
procs = {}
for spec in a.servers:
    name, dll = spec.split("=", 1)
    port = free_port()
    args = ["dotnet", dll, "--urls", f"http://127.0.0.1:{port}", f"--LayerStore:Root={a.store}",
            "--DigestCache:Directory=", "--Serilog:MinimumLevel:Default=Warning"] + [f"--{s.replace('{name}', name)}" for s in a.setting]
    p = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd=os.path.dirname(dll))
    procs[name] = (p, port)
for name, (p, port) in procs.items():
    for _ in range(200):
        try:
            socket.create_connection(("127.0.0.1", port), 0.2).close(); break
        except OSError:
            time.sleep(0.1)
res = {}
try:
    paths = a.paths.split(",")
    for r in range(a.rounds + 1):
        order = list(procs.items())
        if r % 2: order.reverse()
        for path in paths:
            for name, (p, port) in order:
                c0 = cpu(p.pid); t0 = time.perf_counter()
                subprocess.run(["curl", "-fsS", "-o", "/dev/null", f"http://127.0.0.1:{port}{path}"], check=True)
                t1 = time.perf_counter(); c1 = cpu(p.pid)
                if r > 0:
                    res.setdefault((path, name), []).append((t1 - t0, c1 - c0))
    first = list(procs)[0]
    for path in paths:
        base = res[(path, first)]
        bw, bc = statistics.median(x[0] for x in base), statistics.median(x[1] for x in base)
        for name in procs:
            v = res[(path, name)]
            w, c = statistics.median(x[0] for x in v), statistics.median(x[1] for x in v)
            print(f"{path:50s} {name:8s} wall {w:7.3f}s ({bw / w:5.3f}x)  cpu {c:7.3f}s ({c / bc:5.3f}x)")
finally:
    for p, _ in procs.values():
        p.terminate(); p.wait()
