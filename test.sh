#!/usr/bin/env bash
# Runs every test. Installs the Debian packages the tests use as independent tar readers and golden-byte
# references (GNU tar, bsdtar, Python, Go, tar-split, umoci), as judges of the compressed bodies and downloads
# (gzip, zstd, curl), as a real registry for blob uploads (docker-registry) and as the client that pulls a pushed
# image from it (skopeo), and as the file systems one layer is built on to compare exports (e2fsprogs, xfsprogs,
# btrfs-progs) when they are missing; needs root (or sudo) only then.
# chromium is the browser the Swagger UI tests drive (headless, through PuppeteerSharp); it is installed the same way.
# strace holds a store call of a server process for good (HungStoreStopTests), as a hung network file system would.
set -euo pipefail
cd "$(dirname "$0")"

need=()
command -v tar >/dev/null || need+=(tar)
command -v bsdtar >/dev/null || need+=(libarchive-tools)
command -v python3 >/dev/null || need+=(python3)
command -v go >/dev/null || need+=(golang-go)
command -v setfattr >/dev/null || need+=(attr)
command -v setfacl >/dev/null || need+=(acl)
command -v tar-split >/dev/null || need+=(tar-split)
command -v gzip >/dev/null || need+=(gzip)
command -v zstd >/dev/null || need+=(zstd)
command -v curl >/dev/null || need+=(curl)
command -v docker-registry >/dev/null || need+=(docker-registry)
command -v buildah >/dev/null || need+=(buildah)
command -v umoci >/dev/null || need+=(umoci)
command -v skopeo >/dev/null || need+=(skopeo)
command -v chromium >/dev/null || need+=(chromium)
command -v strace >/dev/null || need+=(strace)
# The mkfs tools live in sbin, which a sudo user's PATH may lack.
PATH="$PATH:/usr/sbin:/sbin" command -v mkfs.ext4 >/dev/null || need+=(e2fsprogs)
PATH="$PATH:/usr/sbin:/sbin" command -v mkfs.xfs >/dev/null || need+=(xfsprogs)
PATH="$PATH:/usr/sbin:/sbin" command -v mkfs.btrfs >/dev/null || need+=(btrfs-progs)
if [ ${#need[@]} -gt 0 ]; then
  echo "test.sh: installing ${need[*]}"
  sudo=""; [ "$(id -u)" -eq 0 ] || sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  # The package also enables a registry service on :5000 (the API's default port); the tests start their own.
  if [[ " ${need[*]} " == *" docker-registry "* ]] && [ -d /run/systemd/system ]; then
    $sudo systemctl disable --now docker-registry.service >/dev/null 2>&1 || true
  fi
fi

export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
log=$(mktemp)
trap 'rm -f "$log"' EXIT
status=0
# `dotnet test` builds only the test projects and what they use; every project, the benchmarks included, must build.
dotnet build LayerExport.sln -c Release
# A test that hangs fails the run after 10 minutes without output, naming itself, instead of holding CI to its limit.
dotnet test LayerExport.sln -c Release --no-build --logger "console;verbosity=normal" \
  --blame-hang-timeout 10m --blame-hang-dump-type none "$@" | tee "$log" || status=$?

# One closing line over all test projects.
passed=$(awk '/^ +Passed: +[0-9]+$/ {n += $2} END {print n + 0}' "$log")
failed=$(awk '/^ +Failed: +[0-9]+$/ {n += $2} END {print n + 0}' "$log")
# CI shows only the output's tail, so the failures are repeated here, each with the start of its message.
if [ "$failed" -gt 0 ]; then
  echo "Failed tests:"
  awk '/^ +Failed [A-Za-z_][A-Za-z0-9_.]*/ {n = 25} n > 0 {print; n--}' "$log"
elif [ "$status" -ne 0 ]; then
  echo "dotnet test failed (exit $status) without a failed test; what it said of aborted or crashed test hosts:"
  grep -iE -A1 "aborted|crashed|inactivity|test running when" "$log" | tail -n 20 || true
fi
echo "${passed} passed, ${failed} failed"
exit "$status"
