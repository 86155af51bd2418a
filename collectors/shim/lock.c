/* mp_lock's slow half: spinning, then sleeping on a futex (see shim.h). */
#include <linux/futex.h>
#include <sys/syscall.h>

#include "shim.h"

uint32_t mp_lock MP_HIDDEN;

/* Not glibc's syscall(), which sets errno: the lock must leave the program's errno
 * alone, and a futex wait returns EAGAIN as often as not. */
static void futex(uint32_t *addr, int op, uint32_t val)
{
        register long r10 __asm__("r10") = 0;
        long ret;

        __asm__ volatile("syscall"
                         : "=a"(ret)
                         : "a"((long)SYS_futex), "D"(addr), "S"((long)op), "d"((long)val),
                           "r"(r10)
                         : "rcx", "r11", "memory");
        (void)ret;
}

/* 0 free, 1 held, 2 held and someone may sleep on it. */
void mp_lock_slow(uint32_t *l)
{
        for (int i = 0; i < MP_LOCK_SPINS; i++) {
                uint32_t c = 0;

                __builtin_ia32_pause();
                if (__atomic_load_n(l, __ATOMIC_RELAXED) == 0 &&
                    __atomic_compare_exchange_n(l, &c, 1, false, __ATOMIC_ACQUIRE,
                                                __ATOMIC_RELAXED))
                        return;
        }
        while (__atomic_exchange_n(l, 2, __ATOMIC_ACQUIRE) != 0)
                futex(l, FUTEX_WAIT_PRIVATE, 2);
}

void mp_unlock_wake(uint32_t *l)
{
        futex(l, FUTEX_WAKE_PRIVATE, 1);
}
