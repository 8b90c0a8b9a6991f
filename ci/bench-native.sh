#!/bin/bash
# Measures the native suite: wall and CPU time of whole runs, and the
# per-case cost of our runner (a fresh process that parses and interprets
# the case) against the same case exported as C and compiled.
# Usage: ci/bench-native.sh [RUNS]   (default 5)
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-5}
cargo build --release -q
bin=$PWD/target/release/epollcheck
echo "machine: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs), Linux $(uname -r)"
echo "whole suite ($runs runs, --jobs $(nproc)):"
for i in $(seq "$runs"); do
    /usr/bin/time -f "%e %U %S" -o /tmp/epollcheck-bench-time "$bin" run --quiet --out /tmp/epollcheck-bench.json >/dev/null 2>&1 || true
    read -r wall user sys < /tmp/epollcheck-bench-time
    tests=$(python3 -c "import json; print(len(json.load(open('/tmp/epollcheck-bench.json'))['results']))")
    echo "  run $i: $tests tests, wall $wall s, CPU $(echo "$user + $sys" | bc) s (user $user, sys $sys)"
done

# Per-case overhead: the same case N times through our runner (`soak
# --jobs 1`: each run a fresh case process that parses and interprets the
# case, as `run` does) and as the exported C program run from a shell loop.
# Both sides pay one fork+exec per run.
n=${BENCH_CASE_RUNS:-200}
echo "per case, $n runs each (mean ms per run):"
printf '  %-44s %10s %10s %10s\n' case epollcheck C difference
for c in oneshot::disarm ctl::eexist::pipe requeue::lt_round_robin exclusive::one_of_n_eventfd; do
    "$bin" export-c "$c" --out /tmp/epollcheck-bench.c
    cc -O2 -pthread -o /tmp/epollcheck-bench-c /tmp/epollcheck-bench.c
    start=$(date +%s%N)
    "$bin" soak "$c" --exact --runs "$n" --jobs 1 >/dev/null 2>&1 || true
    ours=$(( ($(date +%s%N) - start) / n ))
    start=$(date +%s%N)
    for _ in $(seq "$n"); do /tmp/epollcheck-bench-c >/dev/null || true; done
    theirs=$(( ($(date +%s%N) - start) / n ))
    printf '  %-44s %10.2f %10.2f %10.2f\n' "$c" "$(echo "$ours / 1000000" | bc -l)" "$(echo "$theirs / 1000000" | bc -l)" "$(echo "($ours - $theirs) / 1000000" | bc -l)"
done
rm -f /tmp/epollcheck-bench.c /tmp/epollcheck-bench-c /tmp/epollcheck-bench.json /tmp/epollcheck-bench-time
