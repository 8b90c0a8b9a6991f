#!/bin/bash
# Runs the suite as root and as an ordinary user (nobody) and checks that
# every verdict is the same, except cases that need root (or a capability),
# which must SKIP with the reason when unprivileged.
# Usage: ci/check-unprivileged.sh [EPOLLCHECK_BINARY]
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-target/release/epollcheck}
work=$(mktemp -d /tmp/epollcheck-unpriv-XXXXXX)
trap 'rm -rf "$work"' EXIT
# A world-readable copy: the checkout may live where nobody cannot read.
git ls-files cases fixtures docs | tar -cf - -T - | tar -xf - -C "$work"
cp "$bin" "$work/epollcheck"
chmod -R a+rX "$work"
chmod a+rwx "$work"
cd "$work"
./epollcheck run --quiet --out root.json
setpriv --reuid=65534 --regid=65534 --clear-groups env HOME="$work" ./epollcheck run --quiet --out nobody.json || true
python3 - <<'PY'
import json, sys
root = {r["name"]: r for r in json.load(open("root.json"))["results"]}
nobody = {r["name"]: r for r in json.load(open("nobody.json"))["results"]}
bad, skipped = [], []
for name, r in root.items():
    n = nobody.get(name)
    if n is None:
        bad.append(f"{name}: missing from the unprivileged run")
    elif n["status"] == r["status"]:
        continue
    elif n["status"] == "SKIP" and any(w in (n["reason"] or "") for w in ("needs root", "needs CAP_")):
        skipped.append(name)
    else:
        bad.append(f"{name}: {r['status']} as root, {n['status']} as nobody: {n['reason']}")
print(f"{len(root)} tests: same verdict as root and as nobody except {len(skipped)} that need root and SKIP unprivileged")
if bad:
    print("DIFFERENT:\n  " + "\n  ".join(bad))
    sys.exit(1)
PY
