/* Fuzzer for the /proc/PID/maps line parser: LLVMFuzzerTestOneInput for libFuzzer, and a
 * main that replays the corpus and deterministic mutations of it in `meson test`. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "procmaps.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        const char *p = (const char *) data, *end = p + size;
        while (p < end) {
                const char *nl = memchr(p, '\n', end - p);
                size_t len = nl ? (size_t) (nl - p) : (size_t) (end - p);
                struct maps_entry e;
                if (maps_parse_line(p, len, &e) == 0) {
                        /* The path must lie within the line, and the range be sane. */
                        if (e.end < e.start || e.path < p || e.path + e.path_len > p + len)
                                abort();
                }
                p += len + 1;
        }
        return 0;
}

#ifndef FUZZING_ENGINE
static size_t read_file(const char *path, uint8_t *buf, size_t cap) {
        FILE *f = fopen(path, "re");
        if (!f) {
                perror(path);
                exit(1);
        }
        size_t n = fread(buf, 1, cap, f);
        fclose(f);
        return n;
}

int main(int argc, char **argv) {
        static uint8_t buf[1 << 16], mut[1 << 16];
        unsigned seed = 1;
        for (int i = 1; i < argc; i++) {
                size_t n = read_file(argv[i], buf, sizeof(buf));
                LLVMFuzzerTestOneInput(buf, n);
                /* Byte flips, truncations and digit runs: what a parser trips on. */
                for (int round = 0; round < 20000; round++) {
                        size_t m = n ? (size_t) rand_r(&seed) % (n + 1) : 0;
                        memcpy(mut, buf, m);
                        for (int k = rand_r(&seed) % 8; k >= 0 && m > 0; k--) {
                                size_t at = (size_t) rand_r(&seed) % m;
                                static const char alphabet[] = "0123456789abcdefABCDEF-: \n\\x(";
                                mut[at] = rand_r(&seed) % 2 ? (uint8_t) rand_r(&seed)
                                                            : (uint8_t) alphabet[rand_r(&seed) % (sizeof(alphabet) - 1)];
                        }
                        LLVMFuzzerTestOneInput(mut, m);
                }
        }
        printf("replayed %d corpus files with mutations\n", argc - 1);
        return 0;
}
#endif
