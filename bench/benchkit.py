"""Shared pieces of the benchmarks: the server under test, a static-file nginx, timed shell pipelines, medians, tables."""
import hashlib
import json
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WORK = "/var/tmp/layerbench"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")


def default_gzip_level():
    """The gzip level the server uses when Export:Gzip:Level is not set, read from the source."""
    path = os.path.join(REPO, "src", "LayerExport.Core", "Compression", "CompressionOptions.cs")
    with open(path) as f:
        source = f.read()
    match = re.search(r"class GzipOptions.*?int Level \{ get; set; \} = (\d+);", source, re.S)
    if not match:
        sys.exit(f"cannot find the default gzip level in {path}")
    return int(match.group(1))


# The Debian package that provides each command the benchmarks run.
DEBIAN_PACKAGES = {"cmp": "diffutils", "find": "findutils", "nginx": "nginx", "wc": "coreutils", "cat": "coreutils"}


def require_tools(*names):
    """Stops with the Debian packages to install when a command is missing; installs nothing."""
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        packages = sorted({DEBIAN_PACKAGES.get(n, n) for n in missing})
        sys.exit(f"missing command(s): {' '.join(missing)}; install the Debian package(s) {' '.join(packages)}: "
                 f"apt-get install -y {' '.join(packages)}")


def build_server():
    """Builds src/LayerExportApi in Release and returns the path of its dll."""
    subprocess.run(["dotnet", "build", os.path.join(REPO, "src", "LayerExportApi"), "-c", "Release", "--nologo", "-v", "quiet"],
                   check=True, stdout=subprocess.DEVNULL)
    dll = os.path.join(REPO, "src", "LayerExportApi", "bin", "Release", "net10.0", "LayerExportApi.dll")
    if not os.path.exists(dll):
        sys.exit(f"build produced no {dll}")
    return dll


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for_http(url, process):
    """Waits up to 60 s for `url` to answer 200; False if `process` exits first or time runs out."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            return False
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return True
        except OSError:
            time.sleep(0.2)
    return False


def process_cpu_seconds(pid):
    """User + system CPU seconds of one process, from /proc/<pid>/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def peak_rss_mb(pid):
    """The process's peak resident set (VmHWM) in MB (10^6 bytes)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024 / 1e6
    sys.exit(f"no VmHWM in /proc/{pid}/status")


def checked_shapes(args, known):
    """The shapes of `args.shapes` (comma-separated, each one of `known`), with `args.rounds` at least 1; exits with the
    option's fault otherwise."""
    shapes = [s for s in args.shapes.split(",") if s]
    if not shapes or any(s not in known for s in shapes):
        sys.exit(f"--shapes: choose from {', '.join(known)}")
    if args.rounds < 1:
        sys.exit("--rounds must be at least 1")
    return shapes


def rotated(items, shift):
    """`items` starting at index `shift` (modulo its length): the order of one interleaved round."""
    shift %= len(items)
    return items[shift:] + items[:shift]


class Server:
    """One LayerExport process on 127.0.0.1 with a free port, serving `store`, with extra environment settings."""

    def __init__(self, dll, store, settings=None, name="server"):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        os.makedirs(os.path.join(WORK, "logs"), exist_ok=True)
        env = dict(os.environ)
        env.update({
            "LayerStore__Root": store,
            "LayerStore__Layout": "native",
            "DigestCache__Directory": os.path.join(WORK, "digests", f"{name}-{self.port}"),
            "ASPNETCORE_ENVIRONMENT": "Production",
        })
        env.update(settings or {})
        self._log = open(os.path.join(WORK, "logs", f"{name}-{self.port}.log"), "wb")
        self.process = subprocess.Popen(["dotnet", dll, "--urls", self.base], cwd=os.path.dirname(dll), env=env,
                                        stdout=self._log, stderr=subprocess.STDOUT)
        if not wait_for_http(self.base + "/layers", self.process):
            self.stop()
            sys.exit(f"the server did not start (exit code {self.process.returncode}); see {self._log.name}")

    def layers(self):
        with urllib.request.urlopen(self.base + "/layers", timeout=10) as response:
            return [layer["id"] for layer in json.load(response)]

    def cpu_seconds(self):
        return process_cpu_seconds(self.process.pid)

    def peak_rss_mb(self):
        return peak_rss_mb(self.process.pid)

    def stop(self):
        stop_process(self.process)
        self._log.close()


def stop_process(process, stop_signal=signal.SIGTERM):
    """Stops one process this script started, by its PID: `stop_signal`, then SIGKILL after 20 s."""
    if process.poll() is None:
        process.send_signal(stop_signal)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


class StaticFileServer:
    """Our own nginx (Debian package `nginx`) serving `root` as static files on a free 127.0.0.1 port.

    The configuration, pid file, logs and temp paths live in a new temporary directory; the master runs in the
    foreground (`daemon off`) as a child of this script, as root with root workers, and is stopped by its PID.
    A system nginx, if any, is never touched: nothing here reads or writes /etc/nginx or /run/nginx.pid.
    """

    def __init__(self, root, workers):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.directory = tempfile.mkdtemp(prefix="layerbench-nginx-")
        self.config = os.path.join(self.directory, "nginx.conf")
        temp = os.path.join(self.directory, "temp")
        os.mkdir(temp)
        with open(self.config, "w") as f:
            f.write(f"""daemon off;
master_process on;
user root;
worker_processes {workers};
pid {self.directory}/nginx.pid;
error_log {self.directory}/error.log warn;
events {{ worker_connections 256; }}
http {{
    access_log off;
    sendfile on;
    tcp_nopush on;
    default_type application/octet-stream;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    server {{
        listen 127.0.0.1:{self.port};
        root {root};
    }}
}}
""")
        self._log_path = os.path.join(self.directory, "stderr.log")
        self._log = open(self._log_path, "wb")
        self.process = subprocess.Popen(["nginx", "-p", self.directory, "-e", os.path.join(self.directory, "error.log"),
                                         "-c", self.config], stdout=self._log, stderr=subprocess.STDOUT)
        self.root = root

    def wait_ready(self, probe_name):
        """Waits until nginx serves `probe_name` from its root."""
        if not wait_for_http(f"{self.base}/{probe_name}", self.process):
            self._log.flush()
            errors = ""
            for name in ("stderr.log", "error.log"):
                path = os.path.join(self.directory, name)
                if os.path.exists(path):
                    with open(path, errors="replace") as f:
                        errors += f.read()
            self.stop()
            sys.exit(f"nginx did not serve {probe_name} (exit code {self.process.returncode}):\n{errors}")

    def _pids(self):
        """The master and its workers."""
        pids = [self.process.pid]
        for entry in os.listdir("/proc"):
            if entry.isdigit():
                try:
                    with open(f"/proc/{entry}/stat") as f:
                        if int(f.read().rsplit(")", 1)[1].split()[1]) == self.process.pid:
                            pids.append(int(entry))
                except OSError:
                    continue
        return pids

    def cpu_seconds(self):
        total = 0.0
        for pid in self._pids():
            try:
                total += process_cpu_seconds(pid)
            except OSError:
                continue
        return total

    def stop(self):
        """SIGQUIT (graceful shutdown) to the master by its PID; then the temporary directory is removed."""
        stop_process(self.process, signal.SIGQUIT)
        self._log.close()
        shutil.rmtree(self.directory, ignore_errors=True)


def children_cpu_seconds():
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run(command):
    """Runs a bash pipeline (pipefail); returns (wall seconds, CPU seconds of the pipeline, stdout)."""
    cpu_before = children_cpu_seconds()
    started = time.perf_counter()
    result = subprocess.run(["bash", "-c", "set -o pipefail; " + command], stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    elapsed = time.perf_counter() - started
    if result.returncode != 0:
        sys.exit(f"failed ({result.returncode}): {command}\n{result.stderr.decode(errors='replace')}")
    return elapsed, children_cpu_seconds() - cpu_before, result.stdout.decode()


def fetch(server, url_suffix):
    """Times `curl -s -o /dev/null` of the server's URL; returns (wall s, CPU s of server + curl, body bytes).

    `server` is anything with `base` and `cpu_seconds()`: a Server or a StaticFileServer.
    """
    server_before = server.cpu_seconds()
    seconds, curl_cpu, out = run(f"curl -sS -o /dev/null -w '%{{http_code}} %{{size_download}}' '{server.base}{url_suffix}'")
    status, size = out.split()
    if status != "200":
        sys.exit(f"{url_suffix}: HTTP {status}")
    return seconds, curl_cpu + server.cpu_seconds() - server_before, int(size)


def save_bodies(server, shape, directory):
    """Saves our plain tar of `shape` (and its gzip and zstd bodies) in `directory`; checks both decompress to it.

    Returns the path of the tar, `directory/<shape>.tar`; the bodies are beside it as .tar.gz and .tar.zst.
    """
    os.makedirs(directory, exist_ok=True)
    ours = os.path.join(directory, f"{shape}.tar")
    run(f"curl -sS -f -o '{ours}' '{server.base}/layers/{shape}/tar'")
    for query, suffix, decompress in (("gzip", "gz", "gzip -dc"), ("zstd", "zst", "zstd -dc")):
        body = f"{ours}.{suffix}"
        run(f"curl -sS -f -o '{body}' '{server.base}/layers/{shape}/tar?compression={query}'")
        run(f"{decompress} '{body}' | cmp - '{ours}'")
    return ours


def size_of(command):
    """Bytes a pipeline writes to stdout (counted by wc -c)."""
    return int(run(command + " | wc -c")[2])


def median(values):
    return statistics.median(values)


def sha256_bytes_per_second(megabytes=256, rounds=3):
    """This machine's single-stream SHA-256 speed (hashlib is OpenSSL's, as the server's is): best of `rounds`."""
    data = os.urandom(1 << 20) * megabytes
    best = float("inf")
    for _ in range(rounds):
        start = time.perf_counter()
        hashlib.sha256(data).digest()
        best = min(best, time.perf_counter() - start)
    return len(data) / best


def tool_versions(**extra):
    """First line of each tool's version output; `extra` maps more names to their version commands."""

    def first_line(command):
        return subprocess.run(["bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode().splitlines()[0]

    return {
        "tar": first_line("tar --version"),
        "gzip": first_line("gzip --version"),
        "pigz": first_line("pigz --version"),
        "zstd": first_line("zstd --version"),
        "curl": first_line("curl --version"),
        "dotnet": first_line("dotnet --version"),
        **{name: first_line(command) for name, command in extra.items()},
    }


def machine():
    with open("/proc/cpuinfo") as f:
        model = next((line.split(":", 1)[1].strip() for line in f if line.startswith("model name")), "unknown")
    with open("/proc/meminfo") as f:
        memory_kib = int(f.readline().split()[1])
    return {"cores": os.cpu_count(), "cpu": model, "memory_gib": round(memory_kib / 1024 / 1024, 1),
            "load_average": os.getloadavg()}


def markdown_table(header, rows):
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(str(cell) for cell in row) + " |" for row in rows]
    return "\n".join(lines)


def save(name, data):
    os.makedirs(os.path.join(WORK, "results"), exist_ok=True)
    path = os.path.join(WORK, "results", time.strftime(f"{name}-%Y%m%dT%H%M%S.json"))
    with open(path, "w") as f:
        json.dump(data, f, indent=2)
        f.write("\n")
    return path
