"""A process that maps shared memory it is handed, as a service that takes a client's
shared memory does.  Commands on stdin, one per line, each answered on stdout:

  open PATH rw|ro   opens PATH and maps it shared, writable or read-only: "mapped"
  recv SOCKET       listens on the Unix socket SOCKET (anyone may connect): "listening";
                    then takes one fd passed over it and maps it shared and writable:
                    "mapped"
  unmap             drops every mapping: "unmapped"
"""

import mmap
import os
import socket
import sys

maps = []


def map_fd(fd, writable):
    size = os.fstat(fd).st_size
    prot = mmap.PROT_READ | (mmap.PROT_WRITE if writable else 0)
    maps.append(mmap.mmap(fd, size, flags=mmap.MAP_SHARED, prot=prot))
    os.close(fd)


def say(word):
    sys.stdout.write(word + "\n")
    sys.stdout.flush()


for line in sys.stdin:
    cmd, *args = line.split()
    if cmd == "open":
        rw = args[1] == "rw"
        map_fd(os.open(args[0], os.O_RDWR if rw else os.O_RDONLY), rw)
        say("mapped")
    elif cmd == "recv":
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(args[0])
        os.chmod(args[0], 0o777)
        srv.listen(1)
        say("listening")
        conn, _ = srv.accept()
        _, fds, _, _ = socket.recv_fds(conn, 1, 1)
        conn.close()
        srv.close()
        map_fd(fds[0], True)
        say("mapped")
    elif cmd == "unmap":
        for m in maps:
            m.close()
        maps.clear()
        say("unmapped")
