/* Unwind rules from .eh_frame, reduced to what an x86-64 return-address walk needs:
 * shared by the shim (its own process's tables) and the ptrace collector (a copy of a
 * binary's tables read from its file). */
#pragma once

#include <stdint.h>

/*
 * A rule, packed in 64 bits so that the cache can hold it lock-free:
 *   bit   0      always set, so that no rule is 0
 *   bit   1      CFA is RBP + offset (else RSP + offset)
 *   bit   2      the caller's RBP is saved at CFA + RBP offset (else RBP is unchanged)
 *   bit   3      outermost frame: the return address is undefined
 *   bit   4      this unwinder cannot do the frame: libunwind must
 *   bits 16..31  RBP offset (signed, at most -16: below the return address)
 *   bits 32..63  CFA offset (signed; at least 8 from RSP)
 * The return address is always at CFA - 8 (anything else is bit 4).  A rule with none
 * of bits 1, 3, 4 is the common frame: CFA = RSP + offset, and the saved RBP, if any,
 * between RSP and the return address.
 */
#define R_VALID UINT64_C(1)
#define R_CFA_RBP UINT64_C(2)
#define R_RBP_SAVED UINT64_C(4)
#define R_OUTERMOST UINT64_C(8)
#define R_UNSUPPORTED UINT64_C(16)
#define R_NOT_PLAIN (R_CFA_RBP | R_OUTERMOST | R_UNSUPPORTED)
#define R_RBP_SHIFT 16
#define R_CFA_SHIFT 32

/*
 * The rule for code address pc, from the .eh_frame_hdr at hdr and the .eh_frame it
 * points to, all of them inside [lo, hi), which is all that is read.  pc is in the same
 * address space as hdr: a copy of the tables elsewhere takes pc moved by as much.
 * R_UNSUPPORTED when the frame needs more: a signal frame, a DWARF expression, a CFA in
 * another register, no FDE for pc.  No allocation.
 */
uint64_t eh_rule_find(const uint8_t *hdr, const uint8_t *lo, const uint8_t *hi, uint64_t pc);
