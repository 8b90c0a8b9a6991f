#!/bin/bash
# Measures the default kernel matrix (four Debian kernels and the host) on
# this machine, kernels already cached: total wall time, and per kernel the
# boot time (qemu start to our init) and the suite time inside the guest.
# Usage: ci/bench-matrix.sh [RUNS] [extra matrix options...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1}
shift || true
cargo build --release -q
bin=target/release/epollcheck
# Fetch (or confirm) the kernels first, so the timing excludes downloads.
$bin matrix --out /tmp/epollcheck-bench-warm "$@" -- ctl::disable_op_einval >/dev/null 2>&1 || true
for i in $(seq "$runs"); do
    out=$(mktemp -d /tmp/epollcheck-bench-XXXXXX)
    start=$(date +%s.%N)
    $bin matrix --out "$out" "$@" >/dev/null 2>"$out/log" || true
    end=$(date +%s.%N)
    echo "run $i: default matrix in $(echo "$end - $start" | bc) s (wall, kernels cached, $(nproc) CPUs)"
    python3 - "$out" <<'PY'
import json, sys, glob, os
out = sys.argv[1]
for f in sorted(glob.glob(os.path.join(out, "*.json"))):
    if f.endswith("matrix.json"):
        continue
    r = json.load(open(f))
    m = r.get("meta", {})
    label = m.get("kernel_spec", "host")
    print(f"  {label:<14} {r['kernel']['release']:<32} boot {m.get('boot_s', '-'):>6} s  suite {m.get('suite_s', '-'):>6} s  wall {m.get('wall_s', m.get('suite_s', '-')):>6} s  accel {m.get('accel', 'native')}")
PY
done
