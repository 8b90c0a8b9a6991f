#!/usr/bin/env bash
# Soak for the VM matrix: runs `epollcheck matrix` N times and reports every
# (kernel, test) whose status ever differed from its first run: a flake.
#
# usage: ci/soak-matrix.sh [RUNS] [matrix options...]   (default 20 runs)
#   e.g. ci/soak-matrix.sh 20 --kernel debian:5.10 --kernel debian:6.12
#
# Writes each run under results/soak-matrix/run-N and a summary at
# results/soak-matrix/summary.txt. Exit status 1 when anything flaked or a
# run failed (FAIL, TIMEOUT or ERROR in any cell).
set -euo pipefail
cd "$(dirname "$0")/.."
runs=${1:-20}
shift || true
out=results/soak-matrix
rm -rf "$out"
mkdir -p "$out"
cargo build --release --quiet
bin=target/release/epollcheck
start=$SECONDS
failed_runs=0
for i in $(seq "$runs"); do
    t=$SECONDS
    rc=0
    "$bin" matrix --out "$out/run-$i" "$@" >"$out/run-$i.log" 2>&1 || rc=$?
    [ "$rc" = 0 ] || failed_runs=$((failed_runs + 1))
    echo "soak-matrix: run $i/$runs: exit $rc in $((SECONDS - t)) s"
done
python3 - "$out" "$runs" "$failed_runs" "$((SECONDS - start))" <<'EOF' | tee "$out/summary.txt"
import json, sys, collections
out, runs, failed, secs = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
seen = collections.defaultdict(collections.Counter)   # (kernel, test) -> statuses
for i in range(1, runs + 1):
    try:
        m = json.load(open(f"{out}/run-{i}/matrix.json"))
    except OSError:
        print(f"run {i}: no matrix.json (see {out}/run-{i}.log)")
        continue
    labels = [c["label"] for c in m["columns"]]
    for row in m["rows"]:
        for label, cell in zip(labels, row["cells"]):
            seen[(label, row["name"])][cell["status"] if cell else "MISSING"] += 1
flaky = {k: v for k, v in seen.items() if len(v) > 1}
kernels = sorted({k for k, _ in seen})
print(f"soak-matrix: {runs} runs of {len(kernels)} kernels ({', '.join(kernels)}), "
      f"{len(seen)} (kernel, test) cells, {secs} s; {failed} runs exited non-zero; {len(flaky)} flaky cells")
for (k, t), v in sorted(flaky.items()):
    print(f"  FLAKY {k} {t}: " + ", ".join(f"{s} x{n}" for s, n in v.most_common()))
sys.exit(1 if flaky or failed else 0)
EOF
