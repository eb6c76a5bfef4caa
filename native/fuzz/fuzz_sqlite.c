/* libFuzzer harness: SQLite's wire format (statements, parameters, batches) as a caller sends it.
 * Input: one byte choosing sqlite.exec or sqlite.batch, then the op's input bytes. The ops that take
 * code addresses or work on channels (sqlite.function, sqlite.channel, sqlite.channel_close,
 * sqlite.run, sqlite.spill) are Ferry's own plumbing and are left out. Runs in a scratch directory: SQL may ATTACH or VACUUM INTO. */
#include "fuzz_common.h"

static int32_t ops[2];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    fuzz_start((*argv)[0], "libferry_sqlite.so", "ferry_sqlite_init");
    ops[0] = fuzz_op("sqlite.exec");
    ops[1] = fuzz_op("sqlite.batch");
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    ring_req q = { .op = ops[data[0] % 2], .ctx = FERRY_SYSTEM_CONTEXT, .has_input = true, .in = data + 1,
                   .in_len = size - 1 };
    fuzz_call(&q);
    return 0;
}
