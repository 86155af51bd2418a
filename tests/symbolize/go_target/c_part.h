/* The C half of the symbolizer's cgo target: functions whose lines the C side knows. */
#pragma once

#include <stdint.h>

/* The address of c_known and the line it is defined on. */
uintptr_t c_known_address(int *ret_line);
/* A return address into c_caller and the line of that call. */
uintptr_t c_caller(int *ret_line);
