/* An attacker's process for the access-at-use test: it watches its own TracerPid and,
 * the moment a collector seizes it, makes itself one that the reader may not inspect:
 * `undumpable` by prctl(PR_SET_DUMPABLE, 0) (a cheap syscall, done well before the
 * collector stops a running thread), `exec PROG ARGS...` by exec'ing a setuid-root
 * program.  A collector that checked access only before attaching would then copy what
 * the kernel would refuse the reader.  One thread only: the kernel holds an exec back
 * while another thread of the process sits in a ptrace-stop. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

static int traced(int fd)
{
        char buf[2048], *p;
        ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

        if (n <= 0)
                return 0;
        buf[n] = '\0';
        p = strstr(buf, "TracerPid:");
        return p && strtol(p + 10, NULL, 10) != 0;
}

int main(int argc, char **argv)
{
        int fd = open("/proc/self/status", O_RDONLY | O_CLOEXEC);
        int exec = argc > 2 && strcmp(argv[1], "exec") == 0;

        if (fd < 0 || argc < 2 || (!exec && strcmp(argv[1], "undumpable") != 0)) {
                fprintf(stderr, "usage: %s undumpable | exec SETUID-PROGRAM [ARGS...]\n",
                        argv[0]);
                return 2;
        }
        printf("ready %d\n", (int)getpid());
        fflush(stdout);
        while (!traced(fd))
                ;
        if (exec) {
                execv(argv[2], argv + 2);
                perror("execv");
                return 1;
        }
        prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
        printf("undumpable\n");
        fflush(stdout);
        for (;;)
                pause();
}
