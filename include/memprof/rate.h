/* The MEMPROF_RATE syntax, one parser for the shim (the variable) and the CLI (--rate). */
#pragma once

#include <errno.h>
#include <stdint.h>

/*
 * A rate is a plain decimal number of bytes, optionally followed by one of k, M, G (or
 * K, m, g) for 2^10, 2^20, 2^30: "524288", "512k", "1M".  Nothing else: no sign, no
 * spaces, no other suffix.  0 or -EINVAL (also past 2^63 - 1).  No libc calls,
 * so the shim can use it before anything is set up.
 */
static inline int mp_rate_parse(const char *s, uint64_t *ret)
{
        const uint64_t max = INT64_MAX; /* the shim's countdowns are signed */
        uint64_t v = 0;
        unsigned shift = 0;

        if (!s || *s < '0' || *s > '9')
                return -EINVAL;
        for (; *s >= '0' && *s <= '9'; s++) {
                uint64_t digit = (uint64_t)(*s - '0');

                if (v > (max - digit) / 10)
                        return -EINVAL;
                v = v * 10 + digit;
        }
        switch (*s) {
        case '\0':
                break;
        case 'k':
        case 'K':
                shift = 10;
                break;
        case 'm':
        case 'M':
                shift = 20;
                break;
        case 'g':
        case 'G':
                shift = 30;
                break;
        default:
                return -EINVAL;
        }
        if (shift && (*++s != '\0' || v > max >> shift))
                return -EINVAL;
        *ret = v << shift;
        return 0;
}
