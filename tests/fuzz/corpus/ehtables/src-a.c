#include <stdint.h>
__attribute__((noinline)) long leaf(long x) { return x * 3 + 1; }
__attribute__((noinline)) long mid(long *a, int n) { long s = 0; for (int i = 0; i < n; i++) s += leaf(a[i]); return s; }
__attribute__((noinline)) long big(int n) { volatile long buf[64]; for (int i = 0; i < 64; i++) buf[i] = i * n; long v[4] = {buf[1], buf[2], buf[3], n}; return mid(v, 4); }
__attribute__((noinline)) long vla(int n) { long a[n]; for (int i = 0; i < n; i++) a[i] = i; return mid(a, n); }
void _start(void) { big(3); vla(5); for (;;) __asm__ volatile("hlt"); }
