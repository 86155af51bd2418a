// A C++ target for the symbolizer tests: a method of a class in a namespace records a
// return address inside itself; the process prints it and the calling line, then waits
// until its stdin closes.
#include <cstdio>
#include <unistd.h>

extern "C" __attribute__((noinline)) void record_return_address(void **where) {
        *where = __builtin_return_address(0);
        __asm__ volatile("" ::: "memory");
}

namespace memprof_test {

class Widget {
public:
        __attribute__((noinline)) int method(int x);
        int calls = 0;
};

void *recorded;
int recorded_line;

int Widget::method(int x) {
        record_return_address(&recorded); recorded_line = __LINE__;
        calls += x;
        return calls;
}

} // namespace memprof_test

int main() {
        memprof_test::Widget w;
        w.method(1);
        std::printf("%p %d\n", memprof_test::recorded, memprof_test::recorded_line);
        std::fflush(stdout);
        char c;
        while (read(0, &c, 1) > 0)
                ;
        return 0;
}
