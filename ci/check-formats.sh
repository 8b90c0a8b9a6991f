#!/bin/bash
# Produces every report format for a native run and for a matrix, and has
# independent consumers check them: tap.py parses the KTAP, kcidb-io
# validates the KCIDB export, and the JUnit XML is parsed and counted.
# Usage: ci/check-formats.sh MATRIX_DIR   (a directory `epollcheck matrix --out` wrote)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release/epollcheck
matrix_dir=${1:?usage: ci/check-formats.sh MATRIX_DIR}
py=$(mktemp -d /tmp/epollcheck-py-XXXXXX)
work=$(mktemp -d /tmp/epollcheck-formats-XXXXXX)
trap 'rm -rf "$py" "$work"' EXIT
# --target keeps the system's Python untouched; the resolver's complaints about
# system packages (which these do not use) are noise.
PIP_ROOT_USER_ACTION=ignore python3 -m pip install -q --disable-pip-version-check --no-warn-conflicts --target "$py" kcidb-io tap.py
export PYTHONPATH="$py"

echo "-- native run"
$bin run --quiet --out "$work/run.json" --format ktap > "$work/run.ktap" || true
$bin matrix --merge "$work/run.json" --out "$work/m1" --format junit > "$work/run.junit" 2>/dev/null || true
$bin export kcidb "$work/run.json" --out "$work/run.kcidb"
python3 ci/check-formats.py "$work/run.json" "$work/run.ktap" "$work/run.junit" "$work/run.kcidb"

echo "-- matrix"
# The records in the matrix's column order (oldest kernel first).
records=$(python3 -c "
import json, glob, os, sys
d = sys.argv[1]
m = json.load(open(os.path.join(d, 'matrix.json')))
recs = {}
for f in glob.glob(os.path.join(d, '*.json')):
    if f.endswith('matrix.json'): continue
    r = json.load(open(f))
    recs[(r['kernel']['release'], r['meta'].get('kernel_spec', 'host'))] = f
out = []
for c in m['columns']:
    key = (c['release'], c['meta'].get('kernel_spec', 'host'))
    out.append(recs[key])
print(','.join(out))
" "$matrix_dir")
IFS=, read -ra files <<< "$records"
$bin matrix --merge "${files[@]}" --out "$work/m" --format ktap > "$work/matrix.ktap" 2>/dev/null || true
$bin matrix --merge "${files[@]}" --out "$work/m" --format junit > "$work/matrix.junit" 2>/dev/null || true
$bin export kcidb "${files[@]}" --out "$work/matrix.kcidb"
python3 ci/check-formats.py "$records" "$work/matrix.ktap" "$work/matrix.junit" "$work/matrix.kcidb"
