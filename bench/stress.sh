#!/usr/bin/env bash
# Runs the stress suite (tests/StressTests) with the full counts of issue 5 and prints the figures it measured,
# the ones docs/RELIABILITY.md records. ./test.sh runs the same suite with small default counts.
#
#   bench/stress.sh                                   # everything, full counts (about 15 minutes on 2 cores)
#   STRESS_SWAP_EXPORTS=2000 bench/stress.sh          # any count can be set lower or higher
#   bench/stress.sh --filter FullyQualifiedName~Fuzz  # further arguments go to dotnet test
#
# The tests start the Release-built server as separate processes on 127.0.0.1 and need GNU tar and setpriv
# (./test.sh installs what is missing). Run as root: the fault tests run one server as nobody.
set -euo pipefail
cd "$(dirname "$0")/.."

export STRESS_SWAP_EXPORTS="${STRESS_SWAP_EXPORTS:-10000}"
export STRESS_FUZZ_REQUESTS="${STRESS_FUZZ_REQUESTS:-10000}"
export STRESS_FUZZ_SEED="${STRESS_FUZZ_SEED:-20261128}"
export STRESS_ABORTS="${STRESS_ABORTS:-1000}"
export STRESS_CONCURRENT_CLIENTS="${STRESS_CONCURRENT_CLIENTS:-64}"
export STRESS_CONCURRENT_LAYER_MIB="${STRESS_CONCURRENT_LAYER_MIB:-256}"
export STRESS_SLOW_SECONDS="${STRESS_SLOW_SECONDS:-60}"
export STRESS_FAULT_ROUNDS="${STRESS_FAULT_ROUNDS:-20}"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1

figures=$(mktemp)
trap 'rm -f "$figures"' EXIT
export STRESS_FIGURES="$figures"

echo "== machine: $(nproc) cores, $(awk '/MemTotal/ {printf "%.1f GB", $2 / 1e6}' /proc/meminfo) RAM, kernel $(uname -r), .NET SDK $(dotnet --version)"
echo "== commit: $(git rev-parse --short HEAD)$(git diff --quiet HEAD -- src tests/StressTests tests/TestSupport || echo ' (with local changes)')"
echo "== counts: $(env | grep -E '^STRESS_[A-Z_]+=' | grep -v STRESS_FIGURES | sort | tr '\n' ' ')"
echo "== load average before: $(cut -d' ' -f1-3 /proc/loadavg)"
start=$(date +%s)
status=0
dotnet test tests/StressTests -c Release --logger "console;verbosity=normal" "$@" || status=$?
echo
echo "== load average after: $(cut -d' ' -f1-3 /proc/loadavg); $(( $(date +%s) - start )) s in all"
echo "== figures"
cat "$figures"
exit "$status"
