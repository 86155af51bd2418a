/* What the memprof command's files share: the shim's name and where it is, and the
 * verbs implemented outside memprof.c. */
#pragma once

#include <stdbool.h>

#define SHIM_NAME "libmemprof.so"

/* The shim beside this binary in a build tree, else where `meson install` put it.
 * ret has PATH_MAX bytes. */
int find_shim(char *ret);

/* attach.c: memprof attach for Go programs (their runtime's own sampler);
 * attach_go_wanted says whether the PID in argv is a Go program that path serves. */
int cmd_attach(int argc, char **argv);
bool attach_go_wanted(int argc, char **argv);

/* attach_native.c: memprof attach|detach for dynamically linked native processes;
 * argv[0] is the verb.  Return the exit status. */
int cmd_attach_native(int argc, char **argv);
int cmd_detach_native(int argc, char **argv);
