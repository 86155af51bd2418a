"""A warm threads.txt maps no file and unmaps nothing: the binaries' unwind tables are
read once with pread and kept (collectors/ptrace/ehcache.c), so a read after the first
makes no file mapping, no munmap and no mremap (an munmap costs every CPU a TLB
shootdown).  strace watches memprofd while a few readers, each its own process, read
threads.txt of tests/threads/threads-example (40 frames deep in one thread, six
threads); the stacks they read must be whole.  Anonymous mappings are let be: libfuse
may still start a worker (its stack, malloc arena and buffer) until its pool has as
many as the busiest moment needed, which it then keeps (see mapping_calls)."""

import os
import re
import shutil
import subprocess
import time

from harness import BUILD, Mount, check, skip, spawn, wait_for_line

EXAMPLE = os.path.join(BUILD, "tests", "threads", "threads-example")
READS = 5


def mapping_calls(lines):
    """The calls that map a file, or unmap or move memory, leaving out what a new
    malloc arena does: it reserves twice its size PROT_NONE and unmaps the misaligned
    part, which was never touched (no TLB entry to shoot down)."""
    reserved, calls = [], []
    for line in lines:
        m = re.search(r"\bmmap\(\S+, (\d+), PROT_NONE,.*\) = (0x[0-9a-f]+)", line)
        if m:
            start = int(m.group(2), 16)
            reserved.append((start, start + int(m.group(1))))
            continue
        m = re.search(r"\bmunmap\((0x[0-9a-f]+), (\d+)\)", line)
        if m:
            lo = int(m.group(1), 16)
            hi = lo + int(m.group(2))
            if not any(a <= lo and hi <= b for a, b in reserved):
                calls.append(line.strip())
        elif re.search(r"\bmremap\(", line) or (re.search(r"\bmmap\(", line) and
                                                   "MAP_ANONYMOUS" not in line):
            calls.append(line.strip())
    return calls


def main():
    if not shutil.which("strace"):
        skip("strace is not installed (Debian package strace)")
    p = spawn([EXAMPLE], stdout=subprocess.PIPE)
    wait_for_line(p, "ready")
    with Mount() as m:
        # warm up: the tables, the job threads and libfuse's workers
        for _ in range(3):
            m.read(p.pid, "threads.txt")
        log = os.path.join(m.dir + ".strace")
        tracer = subprocess.Popen(["strace", "-f", "-qq", "-o", log, "-e",
                                   "trace=mmap,munmap,mremap", "-p", str(m.proc.pid)],
                                  stderr=subprocess.PIPE)
        try:
            # strace says "attached" per thread on stderr unless -qq; wait for its
            # seizure instead: memprofd's TracerPid
            deadline = time.time() + 20
            while True:
                with open("/proc/%d/status" % m.proc.pid) as f:
                    if re.search(r"^TracerPid:\s*[1-9]", f.read(), re.M):
                        break
                check(time.time() < deadline, "strace never attached to memprofd")
                time.sleep(0.02)
            texts = [m.read(p.pid, "threads.txt").decode() for _ in range(READS)]
        finally:
            tracer.terminate()
            tracer.wait(20)
        with open(log) as f:
            calls = mapping_calls(f.read().splitlines())
        os.unlink(log)
    p.kill()
    p.wait()
    for text in texts:
        check(text.count(" recurse_deep ") >= 40, "a read lost the deep stack:\n" + text)
    check(not calls, "%d warm reads mapped a file or unmapped %d times:\n%s"
          % (READS, len(calls), "\n".join(calls[:20])))
    print("ok: %d warm reads of threads.txt, no file mapped, nothing unmapped" % READS)


if __name__ == "__main__":
    main()
