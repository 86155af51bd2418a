/* The helper's request loop: requests in, replies out, binaries kept between requests. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "proto.h"

struct serve;

int serve_new(struct serve **ret);
void serve_free(struct serve *s);

/* Answers one request (fds are consumed) into reply.  A malformed request is -EBADMSG:
 * the daemon never sends one, so the helper exits rather than guess. */
int serve_request(struct serve *s, const struct proto_header *h, const uint8_t *payload,
                  const int *fds, size_t nfds, struct proto_buf *reply);

/* Reads requests from sock and answers them until the daemon hangs up. */
int serve_loop(struct serve *s, int sock);
