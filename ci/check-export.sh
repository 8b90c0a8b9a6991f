#!/usr/bin/env bash
# Agreement check for `epollcheck export-c`: every case instance, exported as
# C, must compile with `cc -O2 -pthread -Wall -Wextra -Werror` and, run from
# the suite root, reach the status `epollcheck run` reports for it.
#
# usage: ci/check-export.sh [--record RUN.json] [--jobs N] [--keep DIR] [FILTER...]
#
#   --record RUN.json  compare with this run record instead of making one
#   --jobs N           exports and compilations at once (default: CPUs);
#                      the programs themselves run one at a time
#   --keep DIR         keep the exported programs, binaries and outputs there
#   FILTER             as for `epollcheck list` (default: every instance)
#
# Environment: EPOLLCHECK (the binary; default: build target/release/epollcheck),
# CC (default cc), EPOLLCHECK_DISRUPTIVE and EPOLLCHECK_TIMEOUT_SCALE (passed to
# both sides). Exit status 0 when every instance agrees, 1 otherwise.
set -euo pipefail

cd "$(dirname "$0")/.."
root=$PWD
record=
jobs=$(nproc 2>/dev/null || echo 2)
keep=
filters=()
while [ $# -gt 0 ]; do
    case $1 in
        --record) record=$2; shift 2 ;;
        --jobs) jobs=$2; shift 2 ;;
        --keep) keep=$2; shift 2 ;;
        -h|--help) sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) filters+=("$1"); shift ;;
    esac
done

start=$SECONDS
if [ -z "${EPOLLCHECK:-}" ]; then
    cargo build --release --quiet
    EPOLLCHECK=$root/target/release/epollcheck
fi
export EPOLLCHECK CC=${CC:-cc}
if [ -n "$keep" ]; then
    work=$keep
    mkdir -p "$work"
else
    work=$(mktemp -d "${TMPDIR:-/tmp}/check-export.XXXXXX")
    trap 'rm -rf "$work"' EXIT
fi
mkdir -p "$work/c"

# The instances, and the interpreter's status for each.
"$EPOLLCHECK" list --format json "${filters[@]}" >"$work/list.json"
if [ -z "$record" ]; then
    echo "check-export: running the suite with the interpreter..." >&2
    "$EPOLLCHECK" run --quiet --out "$work/record.json" "${filters[@]}" >/dev/null || true
    record=$work/record.json
fi
python3 - "$work/list.json" "$record" "$work/expected.tsv" <<'EOF'
import json, sys
names = [i["name"] for i in json.load(open(sys.argv[1]))]
status = {r["name"]: r["status"] for r in json.load(open(sys.argv[2]))["results"]}
with open(sys.argv[3], "w") as out:
    for n in names:
        out.write(f"{n}\t{status.get(n, 'MISSING')}\n")
EOF
total=$(wc -l <"$work/expected.tsv")

# Export and compile in parallel: any warning is an error.
build_one() {
    local name=$1 dir=$2 safe=${1//::/__}
    if ! "$EPOLLCHECK" export-c "$name" --out "$dir/$safe.c" 2>"$dir/$safe.log"; then
        echo "EXPORT" >"$dir/$safe.build"
    elif ! "$CC" -O2 -pthread -Wall -Wextra -Werror "$dir/$safe.c" -o "$dir/$safe" >>"$dir/$safe.log" 2>&1 || [ -s "$dir/$safe.log" ]; then
        echo "COMPILE" >"$dir/$safe.build"
    else
        echo "ok" >"$dir/$safe.build"
    fi
}
export -f build_one
cut -f1 "$work/expected.tsv" | xargs -P "$jobs" -I{} bash -c 'build_one "$1" "$2"' _ {} "$work/c"

# Run one at a time, from the suite root, as the interpreter would.
status_of() {
    case $1 in
        0) case $(tail -n 1 "$2") in XFAIL:*) echo XFAIL ;; XPASS:*) echo XPASS ;; PASS) echo PASS ;; *) echo "EXIT0?" ;; esac ;;
        1) echo FAIL ;;
        2) echo ERROR ;;
        77) echo SKIP ;;
        124) echo TIMEOUT ;;
        # Killed by a signal: the runner calls that an ERROR (the case
        # process crashed); the 300 s backstop below never comes first.
        129|1[3-9][0-9]|2[0-5][0-9]) echo ERROR ;;
        *) echo "EXIT$1" ;;
    esac
}
agreed=0
disagreed=()
while IFS=$'\t' read -r name want; do
    safe=${name//::/__}
    build=$(cat "$work/c/$safe.build")
    if [ "$build" != ok ]; then
        disagreed+=("$name: $build failed (interpreter: $want)"$'\n'"$(sed 's/^/      /' "$work/c/$safe.log" | head -n 20)")
        continue
    fi
    rc=0
    timeout -s KILL 300 "$work/c/$safe" </dev/null >"$work/c/$safe.out" 2>&1 || rc=$?
    got=$(status_of "$rc" "$work/c/$safe.out")
    if [ "$got" = "$want" ]; then
        agreed=$((agreed + 1))
    else
        disagreed+=("$name: C says $got, the interpreter $want"$'\n'"$(sed 's/^/      /' "$work/c/$safe.out" | head -n 20)")
    fi
done <"$work/expected.tsv"

echo
for d in "${disagreed[@]}"; do
    echo "DISAGREE $d"
done
echo "check-export: $total instances, $agreed agreed, ${#disagreed[@]} disagreed ($((SECONDS - start)) s)"
[ ${#disagreed[@]} -eq 0 ]
