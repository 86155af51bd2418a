/* The example program under test: start, symbols, state, and cleanup on any failure. */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "target.h"

static pid_t started[16];
static size_t nstarted;

void target_kill_all(void)
{
        for (size_t i = 0; i < nstarted; i++)
                if (started[i] > 0) {
                        kill(started[i], SIGKILL);
                        waitpid(started[i], NULL, 0);
                        started[i] = 0;
                }
}

static int cmp_sym(const void *a, const void *b)
{
        const struct tsym *x = a, *y = b;

        return (x->addr > y->addr) - (x->addr < y->addr);
}

static void load_symbols(struct target *t)
{
        char cmd[4200], line[512];
        size_t cap = 0;
        FILE *f;

        snprintf(cmd, sizeof(cmd), "nm --defined-only '%s'", t->exe);
        f = popen(cmd, "r");
        CHECK(f);
        while (fgets(line, sizeof(line), f)) {
                unsigned long long addr;
                char type, name[256];

                if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
                        continue;
                if (type != 't' && type != 'T')
                        continue;
                if (t->nsyms == cap) {
                        cap = cap ? cap * 2 : 64;
                        t->syms = realloc(t->syms, cap * sizeof(*t->syms));
                        CHECK(t->syms);
                }
                t->syms[t->nsyms].addr = addr;
                snprintf(t->syms[t->nsyms].name, sizeof(t->syms[0].name), "%s", name);
                t->nsyms++;
        }
        pclose(f);
        CHECK(t->nsyms > 0);
        qsort(t->syms, t->nsyms, sizeof(*t->syms), cmp_sym);
}

static pid_t last_tid(pid_t pid)
{
        char path[64];
        struct dirent *de;
        pid_t last = pid;
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        d = opendir(path);
        CHECK(d);
        while ((de = readdir(d)))
                if (atoi(de->d_name) > last)
                        last = atoi(de->d_name);
        closedir(d);
        return last;
}

/* A PIE is loaded at the start of its first mapping (file offset 0). */
static void load_bias(struct target *t)
{
        char path[64], line[4400], real[4096];
        Elf64_Ehdr eh;
        int fd;
        FILE *f;

        fd = open(t->exe, O_RDONLY | O_CLOEXEC);
        CHECK(fd >= 0 && read(fd, &eh, sizeof(eh)) == sizeof(eh));
        close(fd);
        if (eh.e_type != ET_DYN)
                return;
        CHECK(realpath(t->exe, real));
        /* the leader's mappings; a zombie leader's own maps file is empty, then those of
         * the last thread (which a process that keeps starting threads may have ended) */
        for (int tries = 0; tries < 100 && t->load_bias == 0; tries++) {
                pid_t tid = tries == 0 ? t->pid : last_tid(t->pid);

                snprintf(path, sizeof(path), "/proc/%d/task/%d/maps", (int)t->pid, (int)tid);
                f = fopen(path, "re");
                if (!f)
                        continue;
                while (fgets(line, sizeof(line), f)) {
                        unsigned long long start, off;
                        char file[4096] = "";

                        if (sscanf(line, "%llx-%*x %*s %llx %*s %*d %4095s", &start, &off,
                                   file) < 2)
                                continue;
                        if (off == 0 && strcmp(file, real) == 0) {
                                t->load_bias = start;
                                break;
                        }
                }
                fclose(f);
        }
        CHECK(t->load_bias != 0);
}

void target_start(struct target *t, const char *exe, const char *arg)
{
        int fds[2];
        char buf[64];
        ssize_t n;
        size_t len = 0;

        memset(t, 0, sizeof(*t));
        t->exe = exe;
        CHECK(pipe2(fds, O_CLOEXEC) == 0);
        t->pid = fork();
        CHECK(t->pid >= 0);
        if (t->pid == 0) {
                dup2(fds[1], 1);
                execl(exe, exe, arg, (char *)NULL);
                _exit(127);
        }
        started[nstarted++ % 16] = t->pid;
        close(fds[1]);
        while (len < sizeof(buf) - 1 && (n = read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0) {
                len += (size_t)n;
                buf[len] = '\0';
                if (strstr(buf, "ready\n"))
                        break;
        }
        close(fds[0]);
        CHECK(len > 0 && strstr(buf, "ready"));
        load_symbols(t);
        load_bias(t);
}

void target_stop(struct target *t)
{
        kill(t->pid, SIGKILL);
        waitpid(t->pid, NULL, 0);
        for (size_t i = 0; i < 16; i++)
                if (started[i] == t->pid)
                        started[i] = 0;
        free(t->syms);
        t->syms = NULL;
}

const char *target_symbol(const struct target *t, uint64_t pc)
{
        size_t lo = 0, hi = t->nsyms;

        if (pc < t->load_bias)
                return "?";
        pc -= t->load_bias;
        while (lo < hi) {
                size_t mid = (lo + hi) / 2;

                if (t->syms[mid].addr <= pc)
                        lo = mid + 1;
                else
                        hi = mid;
        }
        /* only trust it within the text of the example (64 KiB past the last symbol at most) */
        if (lo == 0 || pc - t->syms[lo - 1].addr > 0x10000)
                return "?";
        return t->syms[lo - 1].name;
}

uint64_t target_symbol_addr(const struct target *t, const char *name)
{
        char cmd[4200], line[512];
        uint64_t addr = 0;
        FILE *f;

        /* data symbols too: nm again, all types */
        snprintf(cmd, sizeof(cmd), "nm --defined-only '%s'", t->exe);
        f = popen(cmd, "r");
        CHECK(f);
        while (fgets(line, sizeof(line), f)) {
                unsigned long long a;
                char type, n[256];

                if (sscanf(line, "%llx %c %255s", &a, &type, n) == 3 && strcmp(n, name) == 0)
                        addr = a + t->load_bias;
        }
        pclose(f);
        return addr;
}

char thread_state(pid_t pid, pid_t tid)
{
        char path[64], buf[512], *p;
        ssize_t n;
        int fd;

        snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
        fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0)
                return 0;
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0)
                return 0;
        buf[n] = '\0';
        p = strrchr(buf, ')');
        return p && p[1] == ' ' ? p[2] : 0;
}

pid_t thread_tracer(pid_t pid, pid_t tid)
{
        char path[64], line[256];
        int tracer = -1;
        FILE *f;

        snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
        f = fopen(path, "re");
        if (!f)
                return -1;
        while (fgets(line, sizeof(line), f))
                if (sscanf(line, "TracerPid: %d", &tracer) == 1)
                        break;
        fclose(f);
        return tracer;
}

bool target_free_running(pid_t pid, bool allow_stopped)
{
        char path[64];
        struct dirent *de;
        bool ok = true;
        DIR *d;

        snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
        d = opendir(path);
        if (!d)
                return false;
        while ((de = readdir(d))) {
                pid_t tid = atoi(de->d_name);
                char st;

                if (tid <= 0)
                        continue;
                st = thread_state(pid, tid);
                if (st == 0 && thread_tracer(pid, tid) < 0)
                        continue; /* ended since the listing */
                if (thread_tracer(pid, tid) != 0 || st == 't' || (!allow_stopped && st == 'T')) {
                        fprintf(stderr, "thread %d: state %c tracer %d\n", (int)tid, st,
                                (int)thread_tracer(pid, tid));
                        ok = false;
                }
        }
        closedir(d);
        return ok;
}

uint64_t target_spins(const struct target *t)
{
        uint64_t addr = target_symbol_addr(t, "spins"), v = 0;
        struct iovec local = { &v, sizeof(v) }, remote = { (void *)(uintptr_t)addr, sizeof(v) };

        CHECK(addr != 0);
        CHECK(process_vm_readv(t->pid, &local, 1, &remote, 1, 0) == sizeof(v));
        return v;
}

bool target_spinning(const struct target *t)
{
        uint64_t first = target_spins(t);
        struct timespec tick = { 0, 1000000 };

        /* a running busy thread moves it within microseconds; allow a loaded machine 5 s */
        for (int i = 0; i < 5000; i++) {
                if (target_spins(t) != first)
                        return true;
                nanosleep(&tick, NULL);
        }
        return false;
}
