#!/usr/bin/env python3
"""Checks epollcheck's report formats with the tools that consume them.

KTAP with tap.py (an independent TAP parser), the KCIDB export with
kcidb-io's schema validator, JUnit by parsing the XML and checking its
counts. Usage: check-formats.py RECORD.json[,RECORD.json...] KTAP JUNIT KCIDB.json
(the records are the truth the other three must agree with; with several
records, the KTAP is a matrix whose subtests are the kernels, in order).
"""
import json
import sys
import xml.etree.ElementTree as ET

import kcidb_io
from tap.parser import Parser

record_paths, ktap_path, junit_path, kcidb_path = sys.argv[1].split(","), *sys.argv[2:5]
records = [json.load(open(p)) for p in record_paths]
results = [r for rec in records for r in rec["results"]]
errors = []


def check_ktap(text, results, where):
    """One KTAP document: one result line per test, in order, ok/not ok as
    the status says, SKIP directives where skipped, a matching plan."""
    lines = list(Parser().parse_text(text))
    plans = [l for l in lines if l.category == "plan"]
    tests = [l for l in lines if l.category == "test"]
    if len(plans) != 1 or plans[0].expected_tests != len(results):
        errors.append(f"{where}: KTAP plan {[p.expected_tests for p in plans]} for {len(results)} tests")
    if len(tests) != len(results):
        errors.append(f"{where}: KTAP has {len(tests)} result lines for {len(results)} tests")
    for t, r in zip(tests, results):
        ok_expected = r["status"] in ("PASS", "XFAIL", "XPASS", "SKIP")
        if t.ok != ok_expected:
            errors.append(f"{where}: KTAP {r['name']}: ok={t.ok} for {r['status']}")
        if t.skip != (r["status"] == "SKIP"):
            errors.append(f"{where}: KTAP {r['name']}: skip={t.skip} for {r['status']}")
        if r["name"] not in t.description:
            errors.append(f"{where}: KTAP line {t.number} names {t.description!r}, not {r['name']}")


ktap = open(ktap_path).read()
if len(records) == 1:
    check_ktap(ktap, results, "run")
else:
    # The top level has one result per kernel; each kernel's subtest is
    # indented by four spaces and parsed as a document of its own.
    check_ktap("\n".join(l for l in ktap.splitlines() if not l.startswith("    ")),
               [{"name": "", "status": "PASS" if all(r["status"] in ("PASS", "XFAIL", "XPASS", "SKIP") for r in rec["results"]) else "FAIL"} for rec in records],
               "matrix")
    blocks = ktap.split("    # Subtest: ")[1:]
    if len(blocks) != len(records):
        errors.append(f"matrix KTAP has {len(blocks)} subtests for {len(records)} kernels")
    for block, rec in zip(blocks, records):
        body = "\n".join(l[4:] for l in block.splitlines()[1:] if l.startswith("    "))
        check_ktap(body, rec["results"], rec["kernel"]["release"])

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
if len(data["checkouts"]) != len(records) or len(data["builds"]) != len(records):
    errors.append(f"KCIDB has {len(data['checkouts'])} checkouts and {len(data['builds'])} builds for {len(records)} kernels")

if errors:
    print("format check FAILED:\n  " + "\n  ".join(errors))
    sys.exit(1)
print(f"formats agree with {len(records)} run record(s): {len(results)} tests; KTAP parsed by tap.py, KCIDB valid against kcidb-io schema v{kcidb_io.schema.LATEST.major}.{kcidb_io.schema.LATEST.minor}, JUnit counts match")
