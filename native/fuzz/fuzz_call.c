/* libFuzzer harness: the per-call entry point, the system ops and the test ops' plug-in (its ops' shapes
 * drive the call accessors: bytes in and out, doubles, failures with messages). Input: the slot's op id, flags (those
 * that carry no caller address), context id and two arguments as a caller may write them, then input
 * bytes. Op ids are taken as 0..63, a few past the registered ones, so lookups of unknown ops are covered
 * (negative ids are the producer protocol's own records, FERRY_OP_ABORT, which no caller writes);
 * context ids are arbitrary (the generation check), and the system ops (contexts, variables) decode
 * the input. */
#include "fuzz_common.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_start((*argv)[0], "libferry_testops.so", "ferry_testops_init");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int64_t op = fuzz_i64(&data, &size);
    int64_t flags = fuzz_i64(&data, &size);
    int64_t ctx = fuzz_i64(&data, &size);
    int64_t a0 = fuzz_i64(&data, &size);
    int64_t a1 = fuzz_i64(&data, &size);
    ring_req q = { .op = (int32_t)((uint64_t)op % 64), .flags = (uint32_t)flags & ~(FERRY_CALL_HAS_INPUT | FERRY_CALL_BATCH),
                   .ctx = (flags & 0x100) ? (uint64_t)ctx : FERRY_SYSTEM_CONTEXT, .arg0 = a0, .arg1 = a1,
                   .has_input = size > 0, .in = data, .in_len = size };
    fuzz_call(&q);
    return 0;
}
