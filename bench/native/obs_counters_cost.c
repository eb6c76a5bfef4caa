/* What the engine thread's per-call counting costs (issue 13; bench/RESULTS.md, "Observability"), in a
 * loop on one thread with no other thread involved: ferry__counters_begin/end around an untracked op, with
 * no counters block (NULL: what an engine pays with -Dferry.observability=false), with a block attached
 * (observability on, nobody looking), and with every call timed (FERRY_COUNTERS_TIME_ALL: histograms on).
 * Build and run from the root:
 *
 *   gcc -std=c11 -D_GNU_SOURCE -O2 -Inative/include -Inative/src -o build/obs_counters_cost \
 *     bench/native/obs_counters_cost.c native/src/ferry_*.c -lpthread -ldl && build/obs_counters_cost
 */
#include "ferry_counters.h"
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static double run(ferry_engine *e, long n)
{
    int64_t t0 = ferry__now_ns();
    for (long i = 0; i < n; i++) {
        int64_t t = ferry__counters_begin(e, (int32_t)(i & 3));
        __asm__ __volatile__("" ::: "memory"); /* the op */
        ferry__counters_end(e, (int32_t)(i & 3), t, 0);
    }
    return (double)(ferry__now_ns() - t0) / n;
}

int main(void)
{
    ferry_engine *e = calloc(1, sizeof *e);
    e->reg.count = 8;
    uint64_t size = ferry_counters_size(8);
    ferry_counters *k = aligned_alloc(128, (size + 127) / 128 * 128);
    memset(k, 0, size);
    long n = 200000000;
    for (int round = 0; round < 3; round++) {
        atomic_store(&e->counters, NULL);
        double off = run(e, n);
        atomic_store(&e->counters, k);
        k->op_count = 8;
        double on = run(e, n);
        atomic_store(&k->control, FERRY_COUNTERS_TIME_ALL);
        double timed = run(e, n / 10);
        atomic_store(&k->control, 0);
        printf("round %d: no block %.2f ns/call, block attached %.2f ns/call (+%.2f ns), every call timed "
               "(histograms on) %.2f ns/call (+%.2f ns)\n", round, off, on, on - off, timed, timed - off);
    }
    return 0;
}
