"""Runs profile-golden and checks its pprof file field by field: with go tool pprof
-raw and -top, and with an independent protobuf decoder for the string table."""

import os
import re
import subprocess
import sys
import tempfile

from harness import check, go_pprof
import pprof_decode

# The ground truth: what profile-golden.c puts in, written out again independently.
COMMENTS = ["memprof golden profile", "second comment"]
SAMPLE_TYPES = [("alloc_objects", "count"), ("alloc_space", "bytes"),
                ("inuse_objects", "count"), ("inuse_space", "bytes")]
DEFAULT_TYPE = "inuse_space"
PERIOD = 524288
TIME_NANOS = 1700000000123456789
DURATION_NANOS = 2500000000
# (values, location ids, string labels, numeric labels as pprof -raw prints them)
SAMPLES = [
    ([3, 3072, 1, 1024], [1, 2], {"thread": "main"}, {"bytes": "1024 bytes"}),
    ([5, 640, 5, 640], [3, 2], {"thread": "worker-1"}, {"bytes": "128 bytes"}),
    ([1, 524288, 0, 0], [4, 3, 2], {"thread": "worker-2", "kind": "big"},
     {"bytes": "524288"}),
    ([2, 100, 2, 100], [5], {}, {}),
]
# id -> (address, mapping id or None, [(name, file, line, start line, system name)])
LOCATIONS = {
    1: (0x401234, 1, [("inlined_helper", "/src/buffer.h", 42, 40, None),
                      ("alloc_buffer", "/src/buffer.c", 77, 70, None)]),
    2: (0x401500, 1, [("main", "/src/main.c", 25, 10, None)]),
    3: (0x7f0000001234, 2, [("ns::Widget::create(int)", "/src/widget.cc", 120, 115,
                             "_ZN2ns6Widget6createEi")]),
    4: (0x7f0000002000, 2, [("malloc_wrapper", "/src/foo.c", 8, 0, None)]),
    5: (0x500abc, None, []),
}
# id -> (start, limit, offset, file, build id, flags)
MAPPINGS = {
    1: (0x400000, 0x500000, 0, "/usr/bin/testprog", "abcdef0123456789", "[FN][FL][LN][IN]"),
    2: (0x7f0000000000, 0x7f0000100000, 0x1000, "/usr/lib/libfoo.so.1",
        "00112233445566778899aabbccddeeff00112233", "[FN][FL]"),
}


def section(lines, start, end):
    i = lines.index(start)
    j = lines.index(end) if end else len(lines)
    return lines[i + 1:j]


def parse_labels(text):
    return dict(re.findall(r"(\S+?):\[([^\]]*)\]", text))


def check_raw(path):
    os.environ["TZ"] = "UTC"
    lines = go_pprof("-raw", path).splitlines()
    for c in COMMENTS:
        check("Comment: " + c in lines, "comment %r missing" % c)
    check("PeriodType: space bytes" in lines, "period type missing")
    check("Period: %d" % PERIOD in lines, "period missing")
    check("Time: 2023-11-14 22:13:20.123456789 +0000 UTC" in lines, "time wrong")
    check("Duration: 2.5s" in lines, "duration wrong")

    samples = section(lines, "Samples:", "Locations")
    header = " ".join("%s/%s%s" % (t, u, "[dflt]" if t == DEFAULT_TYPE else "")
                      for t, u in SAMPLE_TYPES)
    check(samples[0] == header, "sample type line %r, want %r" % (samples[0], header))
    got = []
    for ln in samples[1:]:
        if ":" in ln and not ln.startswith(" " * 16):
            vals, locs = ln.split(":")
            got.append([[int(v) for v in vals.split()], [int(x) for x in locs.split()], {}, {}])
        elif re.search(r"\[\d", ln):
            got[-1][3] = parse_labels(ln)
        else:
            got[-1][2] = parse_labels(ln)
    want = [[v, l, s, n] for v, l, s, n in SAMPLES]
    check(got == want, "samples:\n%r\nwant\n%r" % (got, want))

    locs = {}
    cur = None
    for ln in section(lines, "Locations", "Mappings"):
        m = re.match(r"\s*(\d+): (0x[0-9a-f]+) (?:M=(\d+) )?(.*)$", ln)
        if m:
            cur = int(m.group(1))
            locs[cur] = (int(m.group(2), 16), int(m.group(3)) if m.group(3) else None, [])
            rest = m.group(4)
        else:
            rest = ln.strip()
        if rest:
            f = re.match(r"(.+) (\S+):(\d+) s=(\d+)(?:\((\S+)\))?$", rest)
            check(f, "cannot parse line %r" % ln)
            locs[cur][2].append((f.group(1), f.group(2), int(f.group(3)), int(f.group(4)),
                                 f.group(5)))
    check(locs == LOCATIONS, "locations:\n%r\nwant\n%r" % (locs, LOCATIONS))

    maps = {}
    for ln in section(lines, "Mappings", None):
        m = re.match(r"(\d+): (0x[0-9a-f]+)/(0x[0-9a-f]+)/(0x[0-9a-f]+) (\S+) (\S+) (\S*)$", ln)
        check(m, "cannot parse mapping %r" % ln)
        maps[int(m.group(1))] = (int(m.group(2), 16), int(m.group(3), 16),
                                 int(m.group(4), 16), m.group(5), m.group(6), m.group(7))
    check(maps == MAPPINGS, "mappings:\n%r\nwant\n%r" % (maps, MAPPINGS))


def top_total(path, *args):
    out = go_pprof("-top", "-unit=B", *args, path)
    m = re.search(r"of (\d+)B? total", out)
    check(m, "no total in pprof -top output:\n" + out)
    t = re.search(r"^Type: (\S+)$", out, re.M)
    return int(m.group(1)), t.group(1) if t else None


def check_top(path):
    for i, (t, _) in enumerate(SAMPLE_TYPES):
        want = sum(s[0][i] for s in SAMPLES)
        got, typ = top_total(path, "-sample_index=" + t)
        check((got, typ) == (want, t), "%s total %r, want %d" % (t, (got, typ), want))
    got, typ = top_total(path)
    want = sum(s[0][3] for s in SAMPLES)
    check((got, typ) == (want, DEFAULT_TYPE), "default total %r, want %d %s"
          % ((got, typ), want, DEFAULT_TYPE))


def check_decoded(data, p):
    check(data[:2] == b"\x1f\x8b", "no gzip magic: %r" % data[:2])
    st = p["string_table"]
    check(st and st[0] == "", "string table entry 0 is %r" % (st[:1],))
    dups = sorted({s for s in st if st.count(s) > 1})
    check(not dups, "duplicate strings: %r" % dups)
    # "main" is both a function name and a label value, "bytes" a unit and a label key:
    # stored once each.
    for s in ["main", "bytes", "count", "inuse_space", "_ZN2ns6Widget6createEi"]:
        check(s in st, "%r missing from the string table" % s)
    check(st[p["default_sample_type"]] == DEFAULT_TYPE, "default_sample_type index wrong")
    check([st[c] for c in p["comment"]] == COMMENTS, "comments wrong")
    check((p["time_nanos"], p["duration_nanos"]) == (TIME_NANOS, DURATION_NANOS), "time")
    pt = p["period_type"]
    check((st[pt["type"]], st[pt["unit"]], p["period"]) == ("space", "bytes", PERIOD), "period")
    check(len(p["location"]) == 5, "%d locations, want 5 (one was added twice)"
          % len(p["location"]))
    check(len(p["function"]) == 5, "%d functions, want 5" % len(p["function"]))
    keys = {(f["name"], f["system_name"], f["filename"], f["start_line"]) for f in p["function"]}
    check(len(keys) == 5, "duplicate functions")
    for s in p["sample"]:
        check({"location_id", "value"} <= s["_packed"], "sample fields not packed")


def main():
    prog = sys.argv[1]
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "golden.pb.gz")
        subprocess.run([prog, path], check=True)
        data, p = pprof_decode.read(path)
        check_decoded(data, p)
        check_raw(path)
        check_top(path)
    print("ok")


if __name__ == "__main__":
    main()
