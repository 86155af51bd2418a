/* Fuzz target: the symbolizer helper's reader of the daemon's requests.  Byte 0 picks
 * the request type (values past the known ones included), byte 1 the number of fds that
 * came with it; the rest is the payload. */
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2)
                return 0;
        struct proto_header h = { .magic = PROTO_MAGIC,
                                  .type = data[0] % 5,
                                  .len = (uint32_t) (size - 2),
                                  .nfds = data[1] % (PROTO_MAX_FDS + 2) };
        struct proto_request q;
        volatile uint64_t sink = 0;
        if (proto_parse_request(&h, data + 2, size - 2, h.nfds, &q) == 0)
                for (uint32_t i = 0; i < q.n; i++)
                        sink += proto_offset_at(&q, i);
        (void) sink;
        return 0;
}
