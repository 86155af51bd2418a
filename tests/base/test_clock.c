/* include/memprof/clock.h: nanoseconds that agree with the seconds time() gives, and a
 * monotonic clock that never goes back. */
#include <stdio.h>
#include <time.h>

#include "check.h"
#include "memprof/clock.h"

int main(void)
{
        time_t before = time(NULL);
        int64_t real = time_now_ns(CLOCK_REALTIME);
        time_t after = time(NULL);

        /* time() truncates the same clock to seconds */
        CHECK(real / 1000000000 >= before && real / 1000000000 <= after);

        int64_t last = time_now_ns(CLOCK_MONOTONIC);
        CHECK(last > 0);
        for (int i = 0; i < 100000; i++) {
                int64_t now = time_now_ns(CLOCK_MONOTONIC);

                CHECK(now >= last);
                last = now;
        }
        if (!check_failures)
                printf("ok\n");
        return check_failures ? 1 : 0;
}
