"""Benchmark workload for Debian's python3: dict, str and json heavy, deterministic.

    python3 pywork.py [ROUNDS]      (default 20)

Each round builds a few thousand records as dicts of strings and lists, serializes them
with json, parses them back, indexes them by several keys, formats text reports and
drops most of it again: the allocation pattern of a typical Python service.  Prints a
checksum so runs under a profiler can be compared with runs without.
"""

import json
import sys


def make_record(i):
    name = "user-%06d" % i
    return {
        "id": i,
        "name": name,
        "email": name + "@example.org",
        "tags": ["t%d" % (i % k) for k in range(2, 9)],
        "score": (i * 7919) % 1000 / 10.0,
        "address": {"street": "%d Main St" % (i % 500), "zip": str(10000 + i % 9000)},
    }


def one_round(r, n):
    records = [make_record(r * n + i) for i in range(n)]
    blob = json.dumps(records)
    back = json.loads(blob)
    by_tag = {}
    for rec in back:
        for t in rec["tags"]:
            by_tag.setdefault(t, []).append(rec["id"])
    by_zip = {}
    for rec in back:
        by_zip.setdefault(rec["address"]["zip"], []).append(rec["name"])
    lines = []
    for zip_code in sorted(by_zip):
        lines.append("%s: %s" % (zip_code, ", ".join(sorted(by_zip[zip_code]))))
    report = "\n".join(lines)
    words = {}
    for w in report.replace(",", " ").split():
        words[w] = words.get(w, 0) + 1
    upper = [s.upper() for s in report.splitlines()]
    return len(blob) + len(report) + len(words) + sum(len(v) for v in by_tag.values()) \
        + sum(map(len, upper))


def main():
    rounds = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    total = 0
    for r in range(rounds):
        total += one_round(r, 5000)
    print("pywork rounds=%d checksum=%d" % (rounds, total))


main()
