/* The C half of the symbolizer's cgo target: ground truth by __LINE__, as the C test
 * target does it, so that C units in a Go binary are checked too. */
#include "c_part.h"

static volatile int c_sink;

static const int c_known_line = __LINE__ + 1;
__attribute__((noinline)) int c_known(int x) { c_sink += x; return c_sink * 3; }

uintptr_t c_known_address(int *ret_line) {
        *ret_line = c_known_line;
        return (uintptr_t) c_known;
}

__attribute__((noinline)) static uintptr_t get_return_address(void) {
        void *ra = __builtin_return_address(0);
        __asm__ volatile("" : "+r"(ra));
        return (uintptr_t) ra;
}

__attribute__((noinline)) uintptr_t c_caller(int *ret_line) {
        uintptr_t ra = get_return_address(); *ret_line = __LINE__;
        c_sink++;
        return ra;
}
