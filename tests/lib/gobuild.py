"""Builds the Go examples with every Go toolchain Debian installed (golang-1.X-go puts
each in /usr/lib/go-1.X), offline, into the build tree, once per source change."""

import fcntl
import glob
import os
import re
import subprocess

import harness

VARIANTS = {
    "default": ([], {}),
    "pie": (["-buildmode=pie"], {}),
    "trimpath": (["-trimpath"], {}),
    "nocgo": ([], {"CGO_ENABLED": "0"}),
    "stripped": (["-ldflags=-s -w"], {}),
}


def versions():
    """The installed Go toolchains as [(version, go binary)], oldest first."""
    found = []
    for go in glob.glob("/usr/lib/go-1.*/bin/go"):
        m = re.search(r"/go-(1\.(\d+))/", go)
        if m:
            found.append((int(m.group(2)), m.group(1), go))
    return [(v, go) for _, v, go in sorted(found)]


def require_versions():
    vs = versions()
    if not vs:
        harness.skip("no Go toolchain in /usr/lib/go-1.X (Debian packages golang-1.X-go)")
    return vs


def build(example, version, go, variant="default"):
    """Builds examples/go/EXAMPLE (or examples/EXAMPLE, the cgo ones) with toolchain GO;
    returns the binary's path."""
    flags, env_extra = VARIANTS[variant]
    src = os.path.join(harness.SOURCE, "examples", "go", example)
    if not os.path.isdir(src):
        src = os.path.join(harness.SOURCE, "examples", example)
    root = os.path.join(harness.BUILD, "go-examples")
    out = os.path.join(root, "%s-%s-%s" % (example, version, variant))
    srcs = [os.path.join(src, f) for f in os.listdir(src)]
    os.makedirs(root, exist_ok=True)
    # tests run in parallel and want the same binaries: one builds, the others wait
    with open(out + ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if os.path.exists(out) and all(os.path.getmtime(out) > os.path.getmtime(s)
                                       for s in srcs):
            return out
        return _build(src, out, version, go, flags, env_extra, root, example, variant)


def _build(src, out, version, go, flags, env_extra, root, example, variant):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    env.update({"GO111MODULE": "off", "GOFLAGS": "", "GOPROXY": "off",
                "GOTOOLCHAIN": "local",
                # shared by the plain and the sanitizer build trees: the standard
                # library is compiled once per toolchain, not once per tree
                "GOCACHE": os.path.join(os.environ.get("XDG_CACHE_HOME") or
                                        os.path.join(os.path.expanduser("~"), ".cache"),
                                        "memprof-go-" + version),
                # Debian's Go library packages (golang-github-*-dev) install here
                "GOPATH": os.path.join(root, "gopath") + ":/usr/share/gocode", "HOME": root,
                "CGO_ENABLED": "1"})
    env.update(env_extra)
    r = subprocess.run([go, "build", "-o", out + ".new"] + flags + ["."], cwd=src, env=env,
                       capture_output=True, text=True, timeout=900)
    if r.returncode != 0:
        harness.fail("go %s build %s (%s) failed: %s" % (version, example, variant,
                                                        r.stderr))
    os.rename(out + ".new", out)
    return out
