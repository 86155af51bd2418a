/* The verbs of the memprof command implemented outside memprof.c.  (Where the shim is:
 * base/shimpath.h.) */
#pragma once

#include <stdbool.h>

/* attach.c: memprof attach for Go programs (their runtime's own sampler);
 * attach_go_wanted says whether the PID in argv is a Go program that path serves. */
int cmd_attach(int argc, char **argv);
bool attach_go_wanted(int argc, char **argv);

/* attach_native.c: memprof attach|detach for dynamically linked native processes;
 * argv[0] is the verb.  Return the exit status. */
int cmd_attach_native(int argc, char **argv);
int cmd_detach_native(int argc, char **argv);
