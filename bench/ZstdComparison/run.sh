#!/usr/bin/env bash
# ZstdSharp.Port (what the server uses) against the system's libzstd (P/Invoke) on the tars that
# bench/run-codecs.py saved, level 3, 1 and 2 workers, 64 KiB writes, in interleaved rounds; and whether each
# variant's bytes equal the server's own zstd body. Usage: run.sh [tars-dir] [rounds]
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
tars="${1:-/var/tmp/layerbench/tars}"
rounds="${2:-5}"
test -r /usr/lib/x86_64-linux-gnu/libzstd.so.1 || { echo "libzstd1 is not installed (apt-get install -y libzstd1)" >&2; exit 1; }
dotnet build "$here" -c Release --nologo -v quiet >/dev/null
for shape in mixed small-files large-files; do
    test -r "$tars/$shape.tar" || { echo "no $tars/$shape.tar: run bench/run-codecs.py first" >&2; exit 1; }
    echo "## $shape"
    dotnet "$here/bin/Release/net10.0/ZstdComparison.dll" "$tars/$shape.tar" "$rounds" "$tars/$shape.tar.zst"
    echo
done
