/* Process-creation and loader storms while other threads allocate and a signal handler
 * allocates: fork+exec, vfork+exec, posix_spawn, forked children that allocate and exit
 * with a code they computed, and a thread that dlopens and dlcloses a library that
 * allocates.  Everything printed depends only on the arguments, so the output must be the
 * same with and without the shim.
 *
 *   storm LIBPATH [--forks N] [--vforks N] [--spawns N] [--children N] [--dlopens N]
 *
 * Prints "started" once its threads run, a line per storm, then "done", and waits for
 * "exit" (or EOF) on stdin before exiting 0; any failure prints "FAIL ..." and exits 1. */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

static const char *true_path = "/bin/true";
static volatile int stop;
static int failures;

#define FAIL(...)                                  \
        do {                                       \
                printf("FAIL " __VA_ARGS__);       \
                printf("\n");                      \
                failures++;                        \
        } while (0)

/* ---- allocating threads, one of them interrupted by a handler that allocates ---- */

/* glibc's malloc is not async-signal-safe, with or without the shim: like a correct
 * program, the interrupted thread marks its windows inside the allocator and the handler
 * allocates only outside them. */
static __thread volatile sig_atomic_t in_allocator;
static volatile sig_atomic_t handled;

static void on_signal(int sig)
{
        (void)sig;
        if (in_allocator)
                return;
        int saved = errno;
        void *a = malloc(48), *b = calloc(3, 16);
        void *c = realloc(a, 300);
        free(b);
        free(c ? c : a);
        handled++;
        errno = saved;
}

static void *allocator(void *arg)
{
        uintptr_t seed = (uintptr_t)arg;
        void *keep[64] = {0};
        while (!stop) {
                for (unsigned i = 0; i < 64; i++) {
                        seed = seed * 6364136223846793005ull + 1442695040888963407ull;
                        size_t size = 1 + (size_t)(seed >> 40) % 2000;
                        in_allocator = 1;
                        free(keep[i]);
                        keep[i] = malloc(size);
                        in_allocator = 0;
                        if (keep[i]) /* time outside the allocator for the handler */
                                memset(keep[i], (int)i, size);
                }
        }
        in_allocator = 1;
        for (unsigned i = 0; i < 64; i++)
                free(keep[i]);
        in_allocator = 0;
        return NULL;
}

static pthread_t victim;

static void *sender(void *arg)
{
        (void)arg;
        struct timespec ts = {0, 200000};
        while (!stop) {
                pthread_kill(victim, SIGUSR1);
                nanosleep(&ts, NULL);
        }
        return NULL;
}

/* ---- dlopen/dlclose ---- */

struct dl_job {
        const char *lib;
        int n;
        long sum;
        int ok;
};

static void *dl_storm(void *arg)
{
        struct dl_job *j = arg;
        for (int i = 0; i < j->n; i++) {
                void *h = dlopen(j->lib, RTLD_NOW | RTLD_LOCAL);
                if (!h)
                        return NULL;
                long (*work)(int) = (long (*)(int))dlsym(h, "stormlib_work");
                if (!work) {
                        dlclose(h);
                        return NULL;
                }
                j->sum += work(i);
                if (dlclose(h) != 0)
                        return NULL;
                j->ok++;
        }
        return NULL;
}

/* What stormlib_work(n) returns, computed here without the library. */
static long expected_work(int n)
{
        long sum = (char)((n & 255) * 7);
        int count = n % 17 + 1;
        for (int i = 0; i < count; i++)
                sum += (long)(n % 50 + i * 24 + 1) + (char)i;
        return sum;
}

/* ---- process storms ---- */

static int wait_true(pid_t pid)
{
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return 0;
        return WIFEXITED(st) && WEXITSTATUS(st) == 0;
}

static int fork_exec(void)
{
        pid_t pid = fork();
        if (pid < 0)
                return 0;
        if (pid == 0) {
                char *argv[] = {(char *)true_path, NULL};
                execve(true_path, argv, environ);
                _exit(127);
        }
        return wait_true(pid);
}

static int vfork_exec(void)
{
        char *argv[] = {(char *)true_path, NULL};
        pid_t pid = vfork();
        if (pid < 0)
                return 0;
        if (pid == 0) {
                execve(true_path, argv, environ);
                _exit(127);
        }
        return wait_true(pid);
}

static int spawn_true(void)
{
        char *argv[] = {(char *)true_path, NULL};
        pid_t pid;
        if (posix_spawn(&pid, true_path, NULL, NULL, argv, environ) != 0)
                return 0;
        return wait_true(pid);
}

/* A child's work: allocations it frees again, and an exit code computed from them. */
static int child_code(int n)
{
        unsigned sum = 0;
        for (int i = 0; i < 200; i++) {
                size_t size = (size_t)(n * 31 + i * 13) % 3000 + 1;
                unsigned char *p = malloc(size);
                if (!p)
                        return 255;
                memset(p, n + i, size);
                sum += p[size - 1] + (unsigned)size;
                free(p);
        }
        return (int)(sum % 200);
}

static int fork_allocate(int n)
{
        pid_t pid = fork();
        if (pid < 0)
                return 0;
        if (pid == 0)
                _exit(child_code(n));
        int st;
        while (waitpid(pid, &st, 0) < 0)
                if (errno != EINTR)
                        return 0;
        return WIFEXITED(st) && WEXITSTATUS(st) == (unsigned)child_code(n);
}

static int arg(int argc, char **argv, const char *name, int def)
{
        for (int i = 2; i + 1 < argc; i++)
                if (strcmp(argv[i], name) == 0)
                        return atoi(argv[i + 1]);
        return def;
}

int main(int argc, char **argv)
{
        if (argc < 2) {
                fprintf(stderr, "usage: storm LIBPATH [--forks N] ...\n");
                return 2;
        }
        int forks = arg(argc, argv, "--forks", 200), vforks = arg(argc, argv, "--vforks", 50);
        int spawns = arg(argc, argv, "--spawns", 50);
        int children = arg(argc, argv, "--children", 100);
        struct dl_job dl = {.lib = argv[1], .n = arg(argc, argv, "--dlopens", 200)};
        setvbuf(stdout, NULL, _IOLBF, 0);

        struct sigaction sa = {.sa_handler = on_signal, .sa_flags = SA_RESTART};
        sigemptyset(&sa.sa_mask);
        if (sigaction(SIGUSR1, &sa, NULL) != 0)
                return 1;
        /* only the victim takes the signal: the threads made after it block it */
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGUSR1);
        if (pthread_create(&victim, NULL, allocator, (void *)1))
                return 1;
        pthread_sigmask(SIG_BLOCK, &set, NULL);
        pthread_t other, snd, dlt;
        if (pthread_create(&other, NULL, allocator, (void *)2) ||
            pthread_create(&snd, NULL, sender, NULL) ||
            pthread_create(&dlt, NULL, dl_storm, &dl))
                return 1;
        printf("started\n");

        int ok = 0;
        for (int i = 0; i < forks; i++)
                ok += fork_exec();
        printf("fork+exec %d ok %d\n", forks, ok);
        ok = 0;
        for (int i = 0; i < vforks; i++)
                ok += vfork_exec();
        printf("vfork+exec %d ok %d\n", vforks, ok);
        ok = 0;
        for (int i = 0; i < spawns; i++)
                ok += spawn_true();
        printf("posix_spawn %d ok %d\n", spawns, ok);
        ok = 0;
        for (int i = 0; i < children; i++)
                ok += fork_allocate(i);
        printf("allocating children %d ok %d\n", children, ok);

        pthread_join(dlt, NULL);
        long want = 0;
        for (int i = 0; i < dl.n; i++)
                want += expected_work(i);
        printf("dlopen/dlclose %d ok %d sum %s\n", dl.n, dl.ok,
               dl.ok == dl.n && dl.sum == want ? "right" : "WRONG");
        if (dl.ok != dl.n || dl.sum != want)
                FAIL("dlopen storm: %d of %d, sum %ld want %ld", dl.ok, dl.n, dl.sum, want);

        /* the handler must have run (and allocated) many times; wait for it if need be */
        for (int i = 0; i < 10000 && handled < 100; i++) {
                struct timespec ts = {0, 1000000};
                nanosleep(&ts, NULL);
        }
        printf("signal handlers that allocated: %s\n", handled >= 100 ? "100+" : "too few");
        stop = 1;
        pthread_join(snd, NULL);
        pthread_join(victim, NULL);
        pthread_join(other, NULL);
        printf("done\n");
        char line[64];
        while (fgets(line, sizeof(line), stdin))
                if (strncmp(line, "exit", 4) == 0)
                        break;
        return failures || handled < 100 ? 1 : 0;
}
