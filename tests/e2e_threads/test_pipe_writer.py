"""A thread blocked in a pipe write, read through a real mount: the first threads.txt of
the process against a later one and against eu-stack (elfutils).

Once, the first read cut such a thread's stack short: RBP, used as a general register by
code built without frame pointers, led through the stack to the binary's .data, the
collector took that for a stack switch and copied it, and then refused the unwinder the
live read of a personality pointer there.  tests/threads/pipe_writer.c builds that
situation on purpose; Debian's ripgrep writing into a full pipe (issue 15's report) is
the same in a program nobody here wrote.
"""

import os
import shutil
import subprocess
import time

from harness import BUILD, Mount, check, skip, spawn, wait_for_line

WRITER = os.path.join(BUILD, "tests", "threads", "pipe-writer")
CACHE_LIFE = 1.2  # past the daemon's snapshot reuse (fs/snapshot.c)


def blocks(text):
    """threads.txt -> ({tid: [pc, ...]}, {pc: "function names"}); an inlined function's
    line shares its pc with the line after it, so only the last of them is a frame."""
    out, names, cur = {}, {}, None
    for line in text.splitlines():
        if line.startswith("TID "):
            cur = int(line.split()[1])
            out[cur] = []
        elif line.startswith("#") and cur is not None:
            parts = line.split()
            pc = int(parts[1], 16)
            names[pc] = names.get(pc, "") + " " + parts[2]
            if not line.rstrip().endswith("(inlined)"):
                out[cur].append(pc)
    return out, names


def eu_stack(pid):
    """eu-stack -p -> {tid: [pc, ...]}."""
    r = subprocess.run(["eu-stack", "-p", str(pid)], capture_output=True, text=True,
                       timeout=60, env=dict(os.environ, DEBUGINFOD_URLS=""))
    out, cur = {}, None
    for line in r.stdout.splitlines():
        if line.startswith("TID "):
            cur = int(line.split()[1].rstrip(":"))
            out[cur] = []
        elif line.startswith("#") and cur is not None:
            out[cur].append(int(line.split()[1], 16))
    check(out, "eu-stack printed no threads (rc %d): %s" % (r.returncode, r.stderr))
    return out


def in_write(pid, tid):
    """Whether the thread is asleep in write(2) (syscall 1 on x86-64)."""
    try:
        with open("/proc/%d/task/%d/syscall" % (pid, tid)) as f:
            fields = f.read().split()
        with open("/proc/%d/task/%d/stat" % (pid, tid)) as f:
            state = f.read().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return bool(fields) and fields[0] == "1" and state == "S"


def wait_writer(pid, timeout=20):
    deadline = time.time() + timeout
    while time.time() < deadline:
        for tid in sorted(int(t) for t in os.listdir("/proc/%d/task" % pid)):
            if in_write(pid, tid):
                return tid
        time.sleep(0.02)
    check(False, "no thread of %d blocked in write" % pid)


def describe(pcs, names):
    return "\n".join("  %#x %s" % (pc, names.get(pc, "")) for pc in pcs)


def test_pipe_writer(m):
    p = spawn([WRITER], stdin=subprocess.PIPE, stdout=subprocess.PIPE)
    wait_for_line(p, "ready")
    tid = wait_writer(p.pid)
    first, names = blocks(m.read(p.pid, "threads.txt").decode())
    eu = eu_stack(p.pid)
    time.sleep(CACHE_LIFE)
    wait_writer(p.pid)
    later, _ = blocks(m.read(p.pid, "threads.txt").decode())
    p.stdin.close()
    p.wait(10)

    want = ["write", "emit_chunk", "pump_output", "writer_main", "start_thread"]
    funcs = " ".join(names.get(pc, "") for pc in first[tid])
    for w in want:
        check(w in funcs,
              "first read lacks %s:\n%s" % (w, describe(first[tid], names)))
    check(first[tid] == later[tid], "first read differs from a later one:\nfirst\n%s\nlater\n%s"
          % (describe(first[tid], names), describe(later[tid], names)))
    check(first[tid] == eu[tid], "first read differs from eu-stack:\nmemprof\n%s\neu-stack\n%s"
          % (describe(first[tid], names), describe(eu[tid], names)))
    print("pipe-writer: %d frames, first read = later read = eu-stack" % len(first[tid]))


def test_ripgrep(m):
    """rg's output thread blocked in write to a pipe nobody reads yet (issue 15).  The
    first interrupt ends a write that had copied part of its buffer (it returns a short
    count) and rg writes the rest from another call site, so the first read and the
    ones after see the thread in two places: both must be whole stacks, the later read
    must equal eu-stack's (taken in between, in the same state), and the first must
    share everything below the write's caller with them."""
    rg = shutil.which("rg")
    if rg is None:
        print("ripgrep (Debian's ripgrep) not installed: its case not checked")
        return
    rfd, wfd = os.pipe2(os.O_CLOEXEC)  # read only at the end: the pipe fills
    p = spawn([rg, "-j2", "-n", "e", "/usr/share"], stdout=wfd, stderr=subprocess.DEVNULL)
    os.close(wfd)
    try:
        tid = wait_writer(p.pid)
        first, names = blocks(m.read(p.pid, "threads.txt").decode())
        eu = eu_stack(p.pid)
        time.sleep(CACHE_LIFE)
        later, _ = blocks(m.read(p.pid, "threads.txt").decode())
    finally:
        p.kill()
        p.wait()
        os.close(rfd)
    f, e, l = first[tid], eu[tid], later[tid]
    check(l == e, "later read differs from eu-stack:\nmemprof\n%s\neu-stack\n%s"
          % (describe(l, names), describe(e, names)))
    common = 0
    while common < min(len(f), len(e)) and f[-1 - common] == e[-1 - common]:
        common += 1
    check(common >= len(f) - 2 and common >= len(e) - 3,
          "first read is not the same stack:\nfirst\n%s\neu-stack\n%s"
          % (describe(f, names), describe(e, names)))
    print("ripgrep: first read %d frames, later read and eu-stack %d, %d in common"
          % (len(f), len(e), common))


def main():
    if not os.path.exists(WRITER):
        skip("tests/threads/pipe-writer is not built")
    if shutil.which("eu-stack") is None:
        skip("eu-stack (Debian's elfutils) is not installed: nothing to compare with")
    with Mount() as m:
        test_pipe_writer(m)
        test_ripgrep(m)
    print("ok")


if __name__ == "__main__":
    main()
