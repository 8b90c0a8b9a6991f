#!/bin/bash
# Measures the native suite: wall and CPU time and peak memory of whole runs, and the
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
    # %M: the largest resident set of the runner and of every case process
    # it waited for (getrusage's ru_maxrss of children).
    /usr/bin/time -f "%e %U %S %M" -o /tmp/epollcheck-bench-time "$bin" run --quiet --out /tmp/epollcheck-bench.json >/dev/null 2>&1 || true
    read -r wall user sys rss < /tmp/epollcheck-bench-time
    tests=$(python3 -c "import json; print(len(json.load(open('/tmp/epollcheck-bench.json'))['results']))")
    echo "  run $i: $tests tests, wall $wall s, CPU $(echo "$user + $sys" | bc) s (user $user, sys $sys), peak RSS $((rss / 1024)) MiB"
done

# Per-case overhead: the same case through our runner (`soak --jobs 1`:
# each run a fresh case process that parses and interprets the case, as
# `run` does) and as the exported C program run from a shell loop; both
# sides pay a fork+exec per run. The cost per run is the slope between a
# short and a long series, so soak's one-time start (finding and parsing
# every case file) is not spread over the runs.
short=${BENCH_SHORT:-50}
long=${BENCH_LONG:-450}
ms_per_run() { # command... ; prints the slope in ms per run
    local a b t
    t=$(date +%s%N); "$@" "$short" >/dev/null 2>&1 || true; a=$(( $(date +%s%N) - t ))
    t=$(date +%s%N); "$@" "$long" >/dev/null 2>&1 || true; b=$(( $(date +%s%N) - t ))
    echo "($b - $a) / ($long - $short) / 1000000" | bc -l
}
ours() { "$bin" soak "$case" --exact --jobs 1 --runs "$1"; }
theirs() { for _ in $(seq "$1"); do /tmp/epollcheck-bench-c || true; done; }
echo "per case, ms per run (slope between $short and $long runs):"
printf '  %-44s %10s %10s %10s\n' case epollcheck C difference
for case in oneshot::disarm ctl::eexist::pipe requeue::lt_round_robin exclusive::one_of_n_eventfd; do
    "$bin" export-c "$case" --out /tmp/epollcheck-bench.c
    cc -O2 -pthread -o /tmp/epollcheck-bench-c /tmp/epollcheck-bench.c
    o=$(ms_per_run ours)
    c=$(ms_per_run theirs)
    printf '  %-44s %10.2f %10.2f %10.2f\n' "$case" "$o" "$c" "$(echo "$o - $c" | bc -l)"
done
rm -f /tmp/epollcheck-bench.c /tmp/epollcheck-bench-c /tmp/epollcheck-bench.json /tmp/epollcheck-bench-time
