/* The shim's unwind rules for its own process's code (rules: see ehframe.h). */
#pragma once

#include <stdint.h>

#include "ehframe.h"

/* The rule for code address pc, read from the .eh_frame of the object holding it
 * (found with _dl_find_object and its .eh_frame_hdr table).  R_UNSUPPORTED when the
 * frame needs more (see eh_rule_find) or pc is in no object with unwind tables.  Reads
 * only the object's own mapped tables; no allocation. */
__attribute__((visibility("hidden"))) uint64_t mp_cfi_rule(uint64_t pc);
