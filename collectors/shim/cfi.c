/* The shim's unwind rules: its own loaded objects' .eh_frame, found with
 * _dl_find_object, read by eh_rule_find (collectors/ehframe.c). */
#include <dlfcn.h>
#include <stddef.h>

#include "cfi.h"

#if defined(__x86_64__) && defined(DLFO_STRUCT_HAS_EH_DBASE)

uint64_t mp_cfi_rule(uint64_t pc)
{
        struct dl_find_object dlfo;

        if (_dl_find_object((void *)(uintptr_t)pc, &dlfo) != 0 || !dlfo.dlfo_eh_frame)
                return R_UNSUPPORTED;
        return eh_rule_find(dlfo.dlfo_eh_frame, dlfo.dlfo_map_start, dlfo.dlfo_map_end, pc);
}

#else

uint64_t mp_cfi_rule(uint64_t pc)
{
        (void)pc;
        return R_UNSUPPORTED;
}

#endif
