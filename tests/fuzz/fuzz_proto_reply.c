/* Fuzz target: the daemon's readers of the symbolizer helper's replies (a compromised
 * helper controls every byte).  Byte 0 picks the reply kind, byte 1 the candidate count
 * (ATTACH) or the expected address count (RESOLVE); the rest is the payload. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
        if (size < 2)
                return 0;
        uint8_t kind = data[0] % 3, arg = data[1];
        const uint8_t *p = data + 2;
        size_t len = size - 2;
        volatile size_t sink = 0;
        switch (kind) {
        case 0: {
                struct proto_open_reply r;
                if (proto_parse_open_reply(p, len, &r) == 0)
                        sink += strlen(r.debuglink) + r.build_id_len + strlen(r.status.problem);
                break;
        }
        case 1: {
                struct proto_attach_reply r;
                if (proto_parse_attach_reply(p, len, arg % (PROTO_MAX_CANDIDATES + 1), &r) == 0)
                        sink += (size_t) (r.chosen + 1) + r.rejected;
                break;
        }
        default: {
                struct proto_resolve_reply r;
                if (proto_parse_resolve_reply(p, len, arg, &r) != 0)
                        break;
                /* Touch everything the daemon would use, so that ASan sees a bad index. */
                size_t k = 0;
                for (uint32_t i = 0; i < r.n; i++)
                        for (uint8_t j = 0; j < r.nlines[i]; j++, k++) {
                                const struct proto_line *l = &r.lines[k];
                                uint32_t idx[3] = { l->function, l->system_name, l->file };
                                for (int x = 0; x < 3; x++)
                                        if (idx[x])
                                                sink += (size_t) r.string_at[idx[x] - 1][0] +
                                                        r.string_len[idx[x] - 1];
                        }
                proto_resolve_reply_free(&r);
                break;
        }
        }
        (void) sink;
        return 0;
}
