"""threads and threads.txt through a real mount: every thread of the example with its
blocking function, name and state; pprof readable by go tool pprof; the target never left
stopped or traced (after reads, killed readers, a SIGKILLed daemon); traced targets fail fast."""

import ctypes
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from harness import (BUILD, EXAMPLES, Mount, check, fail, go_pprof, skip, spawn,
                     wait_for_line)

THREAD_FUNCS = {
    "mp-condvar": "wait_on_condvar",
    "mp-sleep": "sleep_in_nanosleep",
    "mp-pipe": "block_in_pipe_read",
    "mp-busy": "spin_busy_loop",
    "mp-deep": "block_at_bottom",
}


def find_binary(*candidates):
    for c in candidates:
        p = os.path.join(BUILD, c)
        if os.path.isfile(p) and os.access(p, os.X_OK):
            return p
    return None


EXAMPLE = find_binary("examples/threads", "tests/threads/threads-example")
CGO = find_binary("examples/cgo_threads", "tests/threads/cgo-threads")


def let_cache_expire():
    """The daemon reuses a snapshot for up to a second (fs/snapshot.c, CACHE_LIFE_NS) so that
    stat and open agree; a test that changed the target waits that out."""
    time.sleep(1.2)


def start_example(path):
    p = spawn([path], stdout=subprocess.PIPE)
    wait_for_line(p, "ready")
    return p


def thread_states(pid):
    """{tid: (state, tracer)} for every thread of pid."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/stat" % (pid, tid)) as f:
                state = f.read().rsplit(")", 1)[1].split()[0]
            with open("/proc/%d/task/%s/status" % (pid, tid)) as f:
                tracer = [int(l.split()[1]) for l in f if l.startswith("TracerPid:")][0]
        except (FileNotFoundError, ProcessLookupError):
            continue
        out[int(tid)] = (state, tracer)
    return out


def check_free(pid, what, allow_stopped=False):
    """No thread of pid traced or in a ptrace stop (nor group-stopped unless allowed)."""
    bad = {t: s for t, s in thread_states(pid).items()
           if s[1] != 0 or s[0] == "t" or (s[0] == "T" and not allow_stopped)}
    check(not bad, "%s: threads left traced or stopped: %r" % (what, bad))


def parse_blocks(text):
    """threads.txt -> {tid: (name, state, [frame lines])}."""
    blocks = {}
    cur = None
    for line in text.splitlines():
        if line.startswith("TID "):
            parts = line.split()
            cur = int(parts[1])
            blocks[cur] = (parts[2], parts[3], [])
        elif line.startswith("#") and cur is not None:
            blocks[cur][2].append(line)
    return blocks


def check_example_text(text, pid):
    check(text.startswith("# pid %d" % pid), "header names the pid: %r" % text[:80])
    blocks = parse_blocks(text)
    check(len(blocks) == 6, "6 threads in threads.txt, got %d:\n%s" % (len(blocks), text))
    check(sorted(blocks) == list(blocks), "blocks sorted by tid")
    by_name = {b[0]: b for b in blocks.values()}
    for name, func in THREAD_FUNCS.items():
        check(name in by_name, "thread %s missing:\n%s" % (name, text))
        _, state, frames = by_name[name]
        check(any(" %s " % func in f + " " for f in frames),
              "thread %s does not show %s:\n%s" % (name, func, "\n".join(frames)))
        check(state == ("R" if name == "mp-busy" else "S"), "%s state %s" % (name, state))
    deep = [f for f in by_name["mp-deep"][2] if " recurse_deep " in f + " "]
    check(len(deep) >= 40, "40 frames of recurse_deep, got %d" % len(deep))
    check(blocks[pid][0] != "", "main thread named")


def wait_settled(pid, timeout=10):
    """Waits until the kernel shows every thread but the busy one asleep, so the states
    read next are final: after "ready" the threads are still heading for their blocking
    calls, and after a collection their interrupted calls restart."""
    def settled():
        for tid, (state, _) in thread_states(pid).items():
            try:
                with open("/proc/%d/task/%d/comm" % (pid, tid)) as f:
                    busy = f.read().strip() == "mp-busy"
            except OSError:
                return False
            if state != ("R" if busy else "S"):
                return False
        return True

    deadline = time.time() + timeout
    while time.time() < deadline:
        if settled():
            return
        time.sleep(0.02)
    check(False, "the example's threads did not settle: %r" % thread_states(pid))


def test_text_and_running(m, p):
    for _ in range(5):
        # each collection interrupts the blocked threads, whose system calls then restart
        # (briefly running): let them go back to sleep before the next one
        wait_settled(p.pid)
        text = m.read(p.pid, "threads.txt").decode()
        check_example_text(text, p.pid)
        check_free(p.pid, "after reading threads.txt")
        m.read(p.pid, "threads")
        check_free(p.pid, "after reading threads")


def test_pprof(m, p):
    with tempfile.NamedTemporaryFile(suffix=".pb.gz") as f:
        f.write(m.read(p.pid, "threads"))
        f.flush()
        top = go_pprof("-top", "-nodecount=1000", f.name)
        for func in list(THREAD_FUNCS.values()) + ["recurse_deep", "main"]:
            check(func in top, "go tool pprof -top lacks %s:\n%s" % (func, top))
        check("threads" in top or "count" in top, "sample type shown:\n" + top)
        tags = go_pprof("-tags", f.name)
        for name in THREAD_FUNCS:
            check(name in tags, "thread_name %s not among tags:\n%s" % (name, tags))
        check("thread_id" in tags and "state" in tags, "labels present:\n" + tags)
        raw = go_pprof("-raw", f.name)
        check("threads/count" in raw, "sample type threads/count:\n" + raw[:400])


def test_killed_readers(m, p):
    path = m.path(p.pid, "threads.txt")
    for i in range(30):
        r = subprocess.Popen(["cat", path], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        time.sleep((i % 10) * 0.0005)
        r.kill()
        r.wait()
        check_free(p.pid, "after killing a reader (round %d)" % i)
    check_example_text(m.read(p.pid, "threads.txt").decode(), p.pid)


def check_no_latency_request(m):
    """While running threads are stopped the daemon holds a CPU latency request (an open
    /dev/cpu_dma_latency); between collections it must hold none, or every idle CPU of
    the machine would keep polling."""
    fd_dir = "/proc/%d/fd" % m.proc.pid
    held = []
    for fd in os.listdir(fd_dir):
        try:
            if os.readlink(os.path.join(fd_dir, fd)) == "/dev/cpu_dma_latency":
                held.append(fd)
        except FileNotFoundError:
            pass
    check(not held, "memprofd still holds /dev/cpu_dma_latency as fd %s" % held)


def test_daemon_killed(p):
    """SIGKILL the daemon while readers keep it collecting: the kernel must detach."""
    for i in range(8):
        m = Mount().start()
        path = m.path(p.pid, "threads.txt")
        readers = [subprocess.Popen(["sh", "-c", 'while cat "$1" >/dev/null 2>&1; do :; done',
                                     "sh", path]) for _ in range(2)]
        time.sleep(0.05 + 0.01 * i)
        m.stop(signal.SIGKILL)
        for r in readers:
            try:
                r.wait(10)
            except subprocess.TimeoutExpired:
                r.kill()
                r.wait()
        m.close()
        check_free(p.pid, "after SIGKILL of the daemon (round %d)" % i)


def hold_with_ptrace(pid):
    """A helper process that PTRACE_SEIZEs pid (the target keeps running) and holds it."""
    code = ("import ctypes,sys,time\n"
            "libc=ctypes.CDLL(None,use_errno=True)\n"
            "if libc.ptrace(0x4206,%d,None,None)!=0: sys.exit(1)\n"
            "print('held',flush=True)\n"
            "time.sleep(600)\n" % pid)
    h = spawn([sys.executable, "-c", code], stdout=subprocess.PIPE)
    wait_for_line(h, "held")
    return h


def test_traced(m, p):
    h = hold_with_ptrace(p.pid)
    let_cache_expire()
    try:
        start = time.monotonic()
        r = subprocess.run(["cat", m.path(p.pid, "threads.txt")], capture_output=True,
                           timeout=30)
        took = time.monotonic() - start
        check(r.returncode != 0, "reading threads.txt of a traced process must fail")
        print("traced target: %s after %.3f s" % (r.stderr.decode().strip(), took))
    finally:
        h.kill()
        h.wait()
    check_free(p.pid, "after the other tracer left")
    let_cache_expire()
    check_example_text(m.read(p.pid, "threads.txt").decode(), p.pid)


def test_stopped(m, p):
    os.kill(p.pid, signal.SIGSTOP)
    try:
        deadline = time.time() + 10
        while any(s[0] != "T" for s in thread_states(p.pid).values()):
            check(time.time() < deadline, "SIGSTOP took effect")
            time.sleep(0.01)
        let_cache_expire()
        text = m.read(p.pid, "threads.txt").decode()
        blocks = parse_blocks(text)
        check(all(b[1] == "T" for b in blocks.values()), "all threads T:\n" + text)
        check_free(p.pid, "stopped target after a read", allow_stopped=True)
        # a detach puts the threads back into the group stop, not running
        deadline = time.time() + 10
        while any(s[0] != "T" for s in thread_states(p.pid).values()):
            check(time.time() < deadline, "target left stopped: %r" % thread_states(p.pid))
            time.sleep(0.01)
    finally:
        os.kill(p.pid, signal.SIGCONT)
    check_free(p.pid, "after SIGCONT")


def test_cgo(m):
    if CGO is None:
        print("cgo example not built (no go toolchain): cgo case not checked")
        return
    p = start_example(CGO)
    text = m.read(p.pid, "threads.txt").decode()
    blocks = parse_blocks(text)
    by_name = {b[0]: b for b in blocks.values()}
    check("cgo-gocall" in by_name and "cgo-cthread" in by_name, "cgo threads:\n" + text)
    gocall = "\n".join(by_name["cgo-gocall"][2])
    check("cgo_block_in_c" in gocall, "C frame in the cgo thread:\n" + gocall)
    check("main.goBlockedInC" in gocall, "Go frames below C (frame pointers):\n" + gocall)
    check("c_thread_blocks_in_read" in "\n".join(by_name["cgo-cthread"][2]),
          "the C-made thread:\n" + text)
    check(any("runtime.futex" in "\n".join(b[2]) for b in blocks.values()),
          "Go runtime threads unwound:\n" + text)
    check_free(p.pid, "cgo target after a read")
    p.kill()
    p.wait()


def main():
    if EXAMPLE is None:
        skip("the threads example is not built")
    if not os.path.exists(os.path.join(BUILD, "fs", "memprofd")):
        skip("memprofd is not built")
    p = start_example(EXAMPLE)
    with Mount() as m:
        test_text_and_running(m, p)
        check_no_latency_request(m)
        test_pprof(m, p)
        test_killed_readers(m, p)
        check_no_latency_request(m)
        test_traced(m, p)
        test_stopped(m, p)
        test_cgo(m)
    test_daemon_killed(p)
    check_example_text(subprocess.run([os.path.join(BUILD, "tests/threads/threads-dump"),
                                       str(p.pid)], capture_output=True, text=True).stdout,
                       p.pid)
    print("ok")


if __name__ == "__main__":
    main()
