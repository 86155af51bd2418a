/* What the memprof command's files share: the shim's name and where it is, and the
 * verbs implemented outside memprof.c. */
#pragma once

#define SHIM_NAME "libmemprof.so"

/* The shim beside this binary in a build tree, else where `meson install` put it.
 * ret has PATH_MAX bytes. */
int find_shim(char *ret);

/* attach_native.c: memprof attach|detach for dynamically linked native processes;
 * argv[0] is the verb.  Return the exit status. */
int cmd_attach_native(int argc, char **argv);
int cmd_detach_native(int argc, char **argv);
