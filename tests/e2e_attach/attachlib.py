"""Shared steps of the attach tests: start the attachee (or any program), attach with
the memprof command, talk to the attachee, check it is unchanged."""

import os
import subprocess

import harness

HERE = os.path.join(harness.BUILD, "tests", "e2e_attach")
MEMPROF = os.path.join(harness.BUILD, "cli", "memprof")


def exe(name):
    return os.path.join(HERE, name)


def start(name="attachee", args=(), wrap=(), env=None):
    """Starts an attachee binary; returns (Popen, the 'ready' line)."""
    p = harness.spawn(list(wrap) + [exe(name)] + list(args), env=env, stdin=subprocess.PIPE,
                      stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    line = harness.wait_for_line(p, "ready")
    return p, line


def memprof(*args, user=None):
    """Runs the memprof command; returns (exit status, stdout, stderr)."""
    kw = {}
    if user is not None:
        kw["preexec_fn"] = lambda: (os.setgroups([]), os.setgid(user), os.setuid(user))
    r = subprocess.run([MEMPROF] + [str(a) for a in args], capture_output=True, text=True,
                       timeout=60, **kw)
    return r.returncode, r.stdout, r.stderr


def attach(pid, rate=1):
    rc, out, err = memprof("attach", "--rate", rate, pid)
    harness.check(rc == 0, "memprof attach %d: exit %d: %s%s" % (pid, rc, out, err))
    harness.check("stopped for" in out, "attach reports no stop time: %r" % out)
    return out


def command(p, cmd):
    p.stdin.write(cmd + "\n")
    p.stdin.flush()
    return harness.wait_for_line(p, "done " + cmd.split()[0])


def finish(p, want_rc=3):
    out, err = p.communicate("exit\n", timeout=60)
    harness.check(p.returncode == want_rc, "attachee exited with %d (stderr %r)"
                  % (p.returncode, err))
    harness.check("bye" in out, "attachee output %r" % out)
    return out


def maps_has_shim(pid):
    with open("/proc/%d/maps" % pid) as f:
        return "libmemprof.so" in f.read()


def tracer(pid):
    with open("/proc/%d/status" % pid) as f:
        for line in f:
            if line.startswith("TracerPid:"):
                return int(line.split()[1])
    return -1
