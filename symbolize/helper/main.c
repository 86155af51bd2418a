/* memprof-symbolizer: memprofd's unprivileged helper.  It reads ELF and DWARF of the
 * files memprofd passes it and answers symbol lookups on fd 3, a socket; it never opens a
 * path.  memprofd starts it (as root, then it drops everything: sandbox.c). */
#include <errno.h>
#include <libelf.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "sandbox.h"
#include "serve.h"

#define SOCKET_FD 3

#if defined(__SANITIZE_ADDRESS__)
/* LeakSanitizer stops the world with ptrace at exit, which the filter forbids. */
int __lsan_is_turned_off(void);
int __lsan_is_turned_off(void) {
        return 1;
}
#endif

int main(int argc, char **argv) {
        struct stat st;
        struct serve *s = NULL;
        if (fstat(SOCKET_FD, &st) < 0 || !S_ISSOCK(st.st_mode)) {
                fprintf(stderr, "memprof-symbolizer: started by memprofd only (fd 3 is not a "
                                "socket)\n");
                return 2;
        }
        int r = sandbox_enter(SOCKET_FD);
        if (r < 0) {
                fprintf(stderr, "memprof-symbolizer: confining itself: %s\n", strerror(-r));
                return 1;
        }
        elf_version(EV_CURRENT);
        r = serve_new(&s);
        if (r == 0)
                r = serve_loop(s, SOCKET_FD);
        serve_free(s);
        if (r < 0) {
                fprintf(stderr, "memprof-symbolizer: %s\n", strerror(-r));
                return 1;
        }
        return 0;
}
