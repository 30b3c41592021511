#!/usr/bin/env bash
# Reproduces docs/decisions/0001-tar-encoder.md: builds the comparison, writes every writer's archive in two
# separate processes, writes the same entries with Go's archive/tar, times each writer into Stream.Null and
# prints the table. Needs the .NET SDK, go (golang-go) and python3. Usage: run.sh [output-dir]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
out="${1:-$(mktemp -d)}"
mkdir -p "$out"

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //'), dotnet $(dotnet --version), $(go version | cut -d' ' -f3)"
dotnet build "$here" -c Release --nologo -v quiet
bench=(dotnet "$here/bin/Release/net10.0/TarEncoderComparison.dll")

"${bench[@]}" write "$out/run1"
"${bench[@]}" write "$out/run2"
# The Go reference is the golden-test program: the bytes the tests hold us to.
(cd "$here/../../tests/golden/gotar" && go run main.go windows.go) < "$out/run1/entries.json" > "$out/run1/go.tar"
"${bench[@]}" throughput 5 > "$out/throughput.tsv"
python3 "$here/report.py" "$out/run1" "$out/run2" "$out/throughput.tsv"
echo "archives in $out"
