/* A target process for the symbolizer tests: prints where target_function is and at
 * which line, then waits until its stdin closes.  Built in variants (-DVARIANT=n) so
 * that each is a distinct binary with its own build id. */
#include <stdio.h>
#include <unistd.h>

#ifndef VARIANT
#define VARIANT 0
#endif

volatile int sink;

/* One line: at -O1 there is no prologue, and the entry address must map to it. */
__attribute__((noinline)) int target_function(int x) { sink = x + VARIANT; return __LINE__; }

int main(void) {
        int line = target_function(1);
        printf("%p %d %d\n", (void *) target_function, line, VARIANT);
        fflush(stdout);
        char c;
        while (read(0, &c, 1) > 0)
                ;
        return 0;
}
