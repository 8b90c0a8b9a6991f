#!/usr/bin/env python3
"""Checks epollcheck's report formats with the tools that consume them.

KTAP with tap.py (an independent TAP parser), the KCIDB export with
kcidb-io's schema validator, JUnit by parsing the XML and checking its
counts. Usage: check-formats.py RECORD.json KTAP JUNIT KCIDB.json
(the record is the truth the other three must agree with).
"""
import json
import sys
import xml.etree.ElementTree as ET

import kcidb_io
from tap.parser import Parser

record_path, ktap_path, junit_path, kcidb_path = sys.argv[1:5]
record = json.load(open(record_path))
results = record["results"]
errors = []

# KTAP: one result line per test, in order, ok/not ok as the status says,
# SKIP directives where the test was skipped, a plan that matches.
lines = list(Parser().parse_text(open(ktap_path).read()))
plans = [l for l in lines if l.category == "plan"]
tests = [l for l in lines if l.category == "test"]
if len(plans) != 1 or plans[0].expected_tests != len(results):
    errors.append(f"KTAP plan {[p.expected_tests for p in plans]} for {len(results)} tests")
if len(tests) != len(results):
    errors.append(f"KTAP has {len(tests)} result lines for {len(results)} tests")
for t, r in zip(tests, results):
    ok_expected = r["status"] in ("PASS", "XFAIL", "XPASS", "SKIP")
    if t.ok != ok_expected:
        errors.append(f"KTAP {r['name']}: ok={t.ok} for {r['status']}")
    if t.skip != (r["status"] == "SKIP"):
        errors.append(f"KTAP {r['name']}: skip={t.skip} for {r['status']}")
    if r["name"] not in t.description:
        errors.append(f"KTAP line {t.number} names {t.description!r}, not {r['name']}")

# JUnit: counts per status, the failure message present.
root = ET.parse(junit_path).getroot()
cases = root.findall(".//testcase")
if len(cases) != len(results):
    errors.append(f"JUnit has {len(cases)} testcases for {len(results)} tests")
want = {
    "failure": sum(r["status"] == "FAIL" for r in results),
    "error": sum(r["status"] in ("ERROR", "TIMEOUT") for r in results),
    "skipped": sum(r["status"] == "SKIP" for r in results),
}
for tag, n in want.items():
    got = len(root.findall(f".//testcase/{tag}"))
    if got != n:
        errors.append(f"JUnit has {got} <{tag}> for {n} such tests")
for f in root.findall(".//testcase/failure"):
    if not f.get("message") or "expected" not in (f.text or ""):
        errors.append("JUnit failure without its message and expected/observed text")

# KCIDB: the schema validator, then the statuses.
data = json.load(open(kcidb_path))
kcidb_io.schema.LATEST.validate(data)
statuses = {"PASS": "PASS", "XFAIL": "PASS", "XPASS": "PASS", "FAIL": "FAIL", "TIMEOUT": "ERROR", "ERROR": "ERROR", "SKIP": "SKIP"}
if len(data["tests"]) != len(results):
    errors.append(f"KCIDB has {len(data['tests'])} tests for {len(results)}")
for t, r in zip(data["tests"], results):
    if t["status"] != statuses[r["status"]]:
        errors.append(f"KCIDB {r['name']}: {t['status']} for {r['status']}")

if errors:
    print("format check FAILED:\n  " + "\n  ".join(errors))
    sys.exit(1)
print(f"formats agree with the run record: {len(results)} tests; KTAP parsed by tap.py, KCIDB valid against kcidb-io schema v{kcidb_io.schema.LATEST.major}.{kcidb_io.schema.LATEST.minor}, JUnit counts match")
