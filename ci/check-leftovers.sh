#!/bin/bash
# Runs the whole suite with a private TMPDIR and a marker in its
# environment, then checks that nothing of ours outlived it: no process
# started for a case (every one inherits the marker), no file in TMPDIR
# but the serial lock files shared by all runs, no mount under TMPDIR, and
# no socket bound to a path under it. Open fds and IP sockets belong to
# processes, so with no process left none can be either.
# Usage: ci/check-leftovers.sh [EPOLLCHECK_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/epollcheck}
tmp=$(mktemp -d /tmp/epollcheck-leftovers-XXXXXX)
record=$(mktemp /tmp/epollcheck-leftovers-XXXXXX.json)
trap 'rm -rf "$tmp" "$record"' EXIT
tag="EPOLLCHECK_LEFTOVER_TAG=$$-$RANDOM"
# The verdicts are checked by the other steps; here only what is left.
env TMPDIR="$tmp" "$tag" "$bin" run --quiet --out "$record" >/dev/null 2>&1 || true
bad=0
for env in /proc/[0-9]*/environ; do
    # Processes come and go while we look: an unreadable entry is not ours.
    if { tr '\0' '\n' <"$env"; } 2>/dev/null | grep -qx "$tag"; then
        pid=${env#/proc/}; pid=${pid%/environ}
        echo "LEFT: process $pid ($({ tr '\0' ' ' <"/proc/$pid/cmdline"; } 2>/dev/null))"
        bad=1
    fi
done
while IFS= read -r f; do
    echo "LEFT: $f"
    bad=1
done < <(find "$tmp" -mindepth 1 ! -name 'epollcheck-serial-*.lock')
if grep -q " $tmp" /proc/self/mountinfo; then
    echo "LEFT: a mount under $tmp"; bad=1
fi
if grep -q "$tmp" /proc/net/unix; then
    echo "LEFT: a unix socket bound under $tmp"; bad=1
fi
tests=$(python3 -c 'import json,sys; print(len(json.load(open(sys.argv[1]))["results"]))' "$record")
if [ "$bad" = 0 ]; then
    echo "leftovers: none after a full run of $tests tests (processes, files in TMPDIR, mounts, unix sockets)"
fi
exit "$bad"
