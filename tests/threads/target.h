/* Test helpers: the example target process, its symbols (from nm) and its live state. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define CHECK(cond)                                                                        \
        do {                                                                               \
                if (!(cond)) {                                                             \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,  \
                                #cond);                                                    \
                        target_kill_all();                                                 \
                        exit(1);                                                           \
                }                                                                          \
        } while (0)

struct target {
        pid_t pid;
        const char *exe;
        uint64_t load_bias; /* added to nm's addresses */
        size_t nsyms;
        struct tsym {
                uint64_t addr;
                char name[256];
        } *syms;
};

/* Starts exe (with arg, may be NULL) and waits for its "ready" line. */
void target_start(struct target *t, const char *exe, const char *arg);
void target_stop(struct target *t);
void target_kill_all(void);

/* The function of the example holding pc, or "?". */
const char *target_symbol(const struct target *t, uint64_t pc);
uint64_t target_symbol_addr(const struct target *t, const char *name);

char thread_state(pid_t pid, pid_t tid);
pid_t thread_tracer(pid_t pid, pid_t tid);
/* Every thread untraced and not stopped (unless allow_stopped). */
bool target_free_running(pid_t pid, bool allow_stopped);
/* Reads the example's busy-loop counter: it advances iff the process runs. */
uint64_t target_spins(const struct target *t);
/* Waits (bounded) until the busy counter moves; false if it never does. */
bool target_spinning(const struct target *t);
