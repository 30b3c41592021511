"""Shared pieces of the codec benchmarks: the server under test, timed shell pipelines, medians, tables."""
import json
import os
import re
import resource
import shutil
import socket
import statistics
import subprocess
import sys
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


def require_tools(*names):
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        sys.exit(f"missing tools: {' '.join(missing)} (apt-get install -y pigz zstd curl)")


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
        self._wait_ready()

    def _wait_ready(self):
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                sys.exit(f"server exited with {self.process.returncode}; see {self._log.name}")
            try:
                with urllib.request.urlopen(self.base + "/layers", timeout=2) as response:
                    if response.status == 200:
                        return
            except OSError:
                time.sleep(0.2)
        self.stop()
        sys.exit("server did not answer within 60 s")

    def layers(self):
        with urllib.request.urlopen(self.base + "/layers", timeout=10) as response:
            return [layer["id"] for layer in json.load(response)]

    def cpu_seconds(self):
        with open(f"/proc/{self.process.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS

    def stop(self):
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self._log.close()


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
    """Times `curl -s -o /dev/null` of the server's URL; returns (wall s, CPU s of server + curl, body bytes)."""
    server_before = server.cpu_seconds()
    seconds, curl_cpu, out = run(f"curl -sS -o /dev/null -w '%{{http_code}} %{{size_download}}' '{server.base}{url_suffix}'")
    status, size = out.split()
    if status != "200":
        sys.exit(f"{url_suffix}: HTTP {status}")
    return seconds, curl_cpu + server.cpu_seconds() - server_before, int(size)


def size_of(command):
    """Bytes a pipeline writes to stdout (counted by wc -c)."""
    return int(run(command + " | wc -c")[2])


def median(values):
    return statistics.median(values)


def tool_versions():
    def first_line(command):
        return subprocess.run(["bash", "-c", command], stdout=subprocess.PIPE, stderr=subprocess.STDOUT).stdout.decode().splitlines()[0]

    return {
        "tar": first_line("tar --version"),
        "gzip": first_line("gzip --version"),
        "pigz": first_line("pigz --version"),
        "zstd": first_line("zstd --version"),
        "curl": first_line("curl --version"),
        "dotnet": first_line("dotnet --version"),
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
