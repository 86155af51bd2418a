/* The C half of the cgo example: threads that block in named C functions. */
#pragma once

void cgo_start_c_thread(void);
void cgo_block_in_c(void);
void cgo_wait_ready(void);
