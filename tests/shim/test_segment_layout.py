"""include/memprof/segment.h's prose states the segment's layout in numbers, and its
_Static_asserts hold the structs to numbers (every build checks those): this holds the
two sets of numbers to each other, so the prose cannot drift from the code."""

import os
import re
import sys

SOURCE = os.environ.get("MEMPROF_SOURCE") or os.path.join(os.path.dirname(__file__), "..", "..")

# (what the prose says, what an assertion says), each with the number as its group
PAIRS = [
    (r"The header is (\d+) bytes", r"sizeof\(struct mp_seg_header\) == (\d+)"),
    (r"A thread slot is (\d+) bytes", r"sizeof\(struct mp_thread_slot\) == (\d+)"),
    (r"seq at (\d+)\)", r"offsetof\(struct mp_thread_slot, seq\) == (\d+)"),
    (r"a stack (\d+),", r"sizeof\(struct mp_stack\) == (\d+)"),
    (r"a bucket (\d+)\.", r"sizeof\(struct mp_bucket\) == (\d+)"),
    (r"nstacks (\d+),", r"offsetof\(struct mp_seg_header, nstacks\) == (\d+)"),
    (r"nframes (\d+),", r"offsetof\(struct mp_seg_header, nframes\) == (\d+)"),
    (r"nbuckets (\d+),", r"offsetof\(struct mp_seg_header, nbuckets\) == (\d+)"),
    (r"mi_seq (\d+),", r"offsetof\(struct mp_seg_header, mi_seq\) == (\d+)"),
    (r"at\s+\*?\s*(\d+)\.\.", r"offsetof\(struct mp_seg_header, mi_time_ns\) == (\d+)"),
    (r"the (\d+) bytes of\s+\*?\s*mallinfo", r"sizeof\(struct mp_mallinfo\) == (\d+)"),
]


def main():
    with open(os.path.join(SOURCE, "include", "memprof", "segment.h")) as f:
        text = f.read()
    layout = re.search(r"\* Layout\.(.*?)\*/", text, re.S)
    if not layout:
        sys.exit("segment.h has no Layout paragraph")
    prose = layout.group(1)
    asserts = "\n".join(re.findall(r"_Static_assert\((.*?)\);", text, re.S))
    bad = 0
    for said, held in PAIRS:
        p, a = re.search(said, prose), re.search(held, asserts)
        if not p or not a or p.group(1) != a.group(1):
            print("segment.h: the prose (%s: %s) and the assertions (%s: %s) disagree"
                  % (said, p and p.group(1), held, a and a.group(1)))
            bad += 1
    # the record ends where the prose says: start + 8 (mi_time_ns) + mallinfo's size
    end = re.search(r"(\d+)\.\.(\d+)", prose)
    start, size = int(re.search(PAIRS[9][1], asserts).group(1)), int(
        re.search(PAIRS[10][1], asserts).group(1))
    if not end or int(end.group(2)) != start + 8 + size:
        print("segment.h: the mallinfo record's end in the prose is not %d" % (start + 8 + size))
        bad += 1
    if bad:
        sys.exit(1)
    print("ok: %d numbers agree" % len(PAIRS))


if __name__ == "__main__":
    main()
