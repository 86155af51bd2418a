"""The README lists exactly what the shim interposes: this holds that list to the
functions libmemprof.so defines in its dynamic symbol table, so that neither can change
without the other."""

import os
import re
import subprocess
import sys

SOURCE = os.environ.get("MEMPROF_SOURCE") or os.path.join(os.path.dirname(__file__), "..", "..")
ENTRY_POINTS = {"memprof_attach", "memprof_detach"}  # called by `memprof attach`


def readme_list():
    with open(os.path.join(SOURCE, "README.md")) as f:
        text = f.read()
    m = re.search(r"What the shim interposes, exactly:(.*?)Nothing else", text, re.S)
    if not m:
        sys.exit("README.md: no 'What the shim interposes, exactly: ... Nothing else' paragraph")
    return set(re.findall(r"`([a-z_0-9]+)`", m.group(1)))


def exported(lib):
    out = subprocess.run(["readelf", "--dyn-syms", "-W", lib], capture_output=True, text=True,
                         check=True).stdout
    names = set()
    for line in out.splitlines():
        f = line.split()
        # Num: Value Size Type Bind Vis Ndx Name
        if len(f) >= 8 and f[3] == "FUNC" and f[4] in ("GLOBAL", "WEAK") and f[6] != "UND":
            names.add(f[7].split("@")[0])
    return names


def main():
    lib = sys.argv[1]
    listed, have = readme_list(), exported(lib)
    print("README lists %d; the library defines %d functions" % (len(listed), len(have)))
    ok = True
    for name in sorted(have - listed - ENTRY_POINTS):
        print("exported but not in the README's list: %s" % name)
        ok = False
    for name in sorted(listed - have):
        print("in the README's list but not exported: %s" % name)
        ok = False
    if not ok:
        sys.exit(1)
    print("ok: %s" % ", ".join(sorted(listed)))


if __name__ == "__main__":
    main()
