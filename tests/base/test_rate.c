/* include/memprof/rate.h: the MEMPROF_RATE syntax the shim and `memprof run --rate` share. */
#include <stdint.h>
#include <stdio.h>

#include "check.h"
#include "memprof/rate.h"

static void accepts(const char *s, uint64_t want)
{
        uint64_t v = 12345;
        int r = mp_rate_parse(s, &v);

        if (r != 0 || v != want)
                fprintf(stderr, "\"%s\": got %d, %llu; want %llu\n", s, r, (unsigned long long)v,
                        (unsigned long long)want);
        CHECK(r == 0 && v == want);
}

static void rejects(const char *s)
{
        uint64_t v = 12345;
        int r = mp_rate_parse(s, &v);

        if (r != -EINVAL)
                fprintf(stderr, "\"%s\" accepted as %llu\n", s ? s : "(null)",
                        (unsigned long long)v);
        CHECK(r == -EINVAL && v == 12345); /* nothing written on failure */
}

int main(void)
{
        accepts("0", 0);
        accepts("1", 1);
        accepts("524288", 524288);
        accepts("007", 7);
        accepts("1k", 1024);
        accepts("10k", 10240);
        accepts("10K", 10240);
        accepts("512k", 524288);
        accepts("1M", 1 << 20);
        accepts("1m", 1 << 20);
        accepts("3G", 3ull << 30);
        accepts("9223372036854775807", INT64_MAX - 0); /* 2^63 - 1: the largest */
        accepts("8589934591G", 8589934591ull << 30);   /* (2^33 - 1) GiB fits */

        rejects(NULL);
        rejects("");
        rejects("xyz");
        rejects("-1");
        rejects("+1");
        rejects(" 1");
        rejects("1 ");
        rejects("1.5k");
        rejects("1kb");
        rejects("1KiB");
        rejects("k");
        rejects("1T");
        rejects("0x10");
        rejects("9223372036854775808");  /* 2^63 */
        rejects("99999999999999999999"); /* past 2^64 */
        rejects("8589934592G");          /* 2^63 */
        if (!check_failures)
                printf("ok\n");
        return check_failures ? 1 : 0;
}
