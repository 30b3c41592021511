#!/usr/bin/env python3
"""Peak server memory of concurrent zstd downloads, by zstd level.

For each level, a fresh server (Release build, `Export:Zstd:Level` set) serves one plain download of `--shape` and
the first 5 s of a zstd one (a warm-up), then `--clients` curl clients download `?compression=zstd` of `--shape` at once for at most `--seconds`
(a level-19 body of a large layer takes far longer than any run; a zstd context allocates its workers' tables and
job buffers within its first jobs, so the peak comes early). Reports the server's VmHWM before and after, and
what each concurrent download added. Curls still running at the deadline are stopped: the server then sees
clients that hang up, and must give their memory back.

    run-zstd-memory.py --store /var/tmp/layerbench/store-full --levels 3,19 --threads 0,8 --clients 16 --seconds 60
"""
import argparse
import os
import signal
import subprocess
import sys
import time

import benchkit as kit


def measure(dll, store, level, threads, shape, clients, seconds):
    settings = {"Export__Zstd__Level": str(level), "Export__Threads": str(threads)}
    server = kit.Server(dll, store, settings, name=f"zstd{level}-t{threads}")
    try:
        url = f"{server.base}/layers/{shape}/tar?compression=zstd"
        kit.run(f"curl -sS -f -o /dev/null '{server.base}/layers/{shape}/tar'")
        subprocess.run(["curl", "-sS", "--max-time", "5", "-o", "/dev/null", url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        before = server.peak_rss_mb()
        curls = [subprocess.Popen(["curl", "-sS", "-o", "/dev/null", url], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                 for _ in range(clients)]
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and any(c.poll() is None for c in curls):
            time.sleep(0.5)
        finished = sum(1 for c in curls if c.poll() == 0)
        for c in curls:
            if c.poll() is None:
                c.send_signal(signal.SIGTERM)
        for c in curls:
            c.wait()
        peak = server.peak_rss_mb()
        time.sleep(2)
        if server.process.poll() is not None:
            sys.exit(f"the level-{level} server exited ({server.process.returncode}) under {clients} clients")
        return {"level": level, "threads": threads, "before_mb": round(before, 1), "peak_mb": round(peak, 1),
                "per_download_mb": round((peak - before) / clients, 1), "finished": finished}
    finally:
        server.stop()


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--store", default=os.path.join(kit.WORK, "store-full"))
    parser.add_argument("--levels", default="3,9,19")
    parser.add_argument("--threads", default="0", help="Export:Threads values (0: one per core, at most four)")
    parser.add_argument("--clients", type=int, default=16)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--shape", default="large-files")
    args = parser.parse_args()
    kit.require_tools("dotnet", "curl")
    dll = kit.build_server()
    rows = [measure(dll, args.store, int(level), int(threads), args.shape, args.clients, args.seconds)
            for level in args.levels.split(",") for threads in args.threads.split(",")]
    print(kit.markdown_table(
        ["zstd level", "Export:Threads", "VmHWM before (MB)", f"VmHWM with {args.clients} downloads (MB)", "per download (MB)",
         f"finished within {args.seconds:g} s"],
        [[r["level"], r["threads"], r["before_mb"], r["peak_mb"], r["per_download_mb"], r["finished"]] for r in rows]))
    kit.save("zstd-memory", {"machine": kit.machine(), "shape": args.shape, "clients": args.clients,
                             "seconds": args.seconds, "rows": rows})


if __name__ == "__main__":
    main()
