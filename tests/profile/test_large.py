"""Runs profile-large (100k samples over 100k locations) and checks the whole file
with the independent decoder, and its totals with go tool pprof."""

import os
import re
import subprocess
import sys
import tempfile

from harness import check, go_pprof
import pprof_decode

# The formulas of profile-large.c.
NSAMPLES, NLOCATIONS, NFUNCTIONS, NTHREADS = 100000, 100000, 5000, 16


def sample(i):
    size, live = 100 + i % 1000, i % 2
    stack = [(i * 7 + k * 13) % NLOCATIONS + 1 for k in range(1 + i % 8)]
    return [1, size, live, live * size], stack, size, "t%d" % (i % NTHREADS)


def check_decoded(p):
    st = p["string_table"]
    check(st[0] == "" and len(set(st)) == len(st), "string table not deduplicated")
    check(len(p["sample"]) == NSAMPLES, "%d samples" % len(p["sample"]))
    check(len(p["location"]) == NLOCATIONS, "%d locations" % len(p["location"]))
    # fn_0..fn_4999 plus inl_0..inl_96 (each inlined name always has the same start line).
    check(len(p["function"]) == NFUNCTIONS + 97, "%d functions" % len(p["function"]))
    funcs = {f["id"]: st[f["name"]] for f in p["function"]}
    for j in (0, 1, 10, 4999, 5000, 99990, 99999):
        loc = p["location"][j]
        names = [funcs[ln["function_id"]] for ln in loc["line"]]
        want = (["inl_%d" % (j % 97)] if j % 10 == 0 else []) + ["fn_%d" % (j % NFUNCTIONS)]
        check(loc["id"] == j + 1 and loc["address"] == 0x10000 + j * 16 and
              loc["mapping_id"] == 1 + j % 2 and names == want, "location %d: %r" % (j, loc))
    for i, s in enumerate(p["sample"]):
        values, stack, size, thread = sample(i)
        labels = {st[lab["key"]]: (st[lab["str"]] if lab["str"] else
                                    (lab["num"], st[lab["num_unit"]])) for lab in s["label"]}
        if (s["value"], s["location_id"]) != (values, stack) or \
                labels != {"bytes": (size, "bytes"), "thread": thread}:
            check(False, "sample %d: %r" % (i, s))


def check_top(path):
    want = [sum(sample(i)[0][k] for i in range(NSAMPLES)) for k in range(4)]
    for k, name in ((0, "alloc_objects"), (1, "alloc_space"), (3, "inuse_space")):
        out = go_pprof("-top", "-unit=B", "-nodecount=5", "-sample_index=" + name, path)
        m = re.search(r"of (\d+)B? total", out)
        check(m and int(m.group(1)) == want[k], "%s total: want %d in\n%s" % (name, want[k], out))


def main():
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "large.pb.gz")
        subprocess.run([sys.argv[1], path], check=True)
        data, p = pprof_decode.read(path)
        check(data[:2] == b"\x1f\x8b", "no gzip magic")
        check_decoded(p)
        check_top(path)
    print("ok")


if __name__ == "__main__":
    main()
