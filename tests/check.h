/* CHECK for the C unit tests that run on past a failure: each failed condition is
 * reported with its place and counted in check_failures, and main exits 1 if any. */
#pragma once

#include <stdio.h>

static int check_failures;

#define CHECK(cond)                                                                        \
        do {                                                                               \
                if (!(cond)) {                                                             \
                        fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__,   \
                                #cond);                                                    \
                        check_failures++;                                                  \
                }                                                                          \
        } while (0)
