/* libFuzzer entry point for the /proc parsers: status and stat texts are outside bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
        struct proc_status st;
        uint64_t start;
        char *copy;

        /* exact-size copy without a terminator: any read past size is a finding */
        copy = malloc(size ? size : 1);
        if (!copy)
                return 0;
        memcpy(copy, data, size);
        if (proc_status_parse(copy, size, &st) == 0) {
                if (memchr(st.name, '\0', sizeof(st.name)) == NULL)
                        abort();
        }
        (void)proc_stat_parse_start_time(copy, size, &start);
        free(copy);
        return 0;
}
