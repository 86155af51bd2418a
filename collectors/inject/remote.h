/* Internal to the injector: the clock, the bounded wait and the register save that
 * remote.c and pick.c share. */
#pragma once

#include <stdint.h>
#include <sys/types.h>

#include "inject.h"

int64_t inject_now_ns(void);
/* waitpid(tid, __WALL) until deadline: tid, 0 at the deadline, -errno. */
pid_t inject_wait(pid_t tid, int *status, int64_t deadline);
/* Saves the stopped thread's registers and extended state, and places the scratch area
 * and the calls' stack below its stack pointer's red zone. */
int inject_save(struct inject_session *s);
/* Keeps a signal that stopped the thread (with its siginfo) for inject_end. */
void inject_defer_signal(struct inject_session *s, int sig);
