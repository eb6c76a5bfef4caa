/* Internal declarations of ferry_ffi.c (engine-thread downcalls). Not installed, not exported. */
#ifndef FERRY_FFI_H
#define FERRY_FFI_H

#include "ferry_internal.h"

/* Registers ferry.ffi_prepare, ferry.ffi_channel and ferry.ffi_call with their registry as data, and the
 * on-close hook that frees it. Engine thread, from the system ops' registration. Returns 0 or the
 * registry's failure code. */
int ferry__ffi_register(ferry_registry *reg, ferry_engine *e);

#endif /* FERRY_FFI_H */
