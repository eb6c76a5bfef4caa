/*
 * What a registered cancel hook costs each call on the engine thread (issue 12), without the noise of
 * a cross-core round trip: one thread plays producer and engine on a test engine (ferry_test_exports.c),
 * publishing a call, stepping the engine over it (ferry__drain, the real consumer step) and releasing
 * the slot, in alternating rounds with cancel_hooked off and on. The call is an op that sets its result
 * (registered on the test engine, with the systemic context made for it), so the difference between
 * the two is the cancel window: a release store,
 * a seq_cst store and a seq_cst load (ferry_cancel.c). Built by bench/Makefile against libferry's
 * sources (it sets the internal cancel_hooked flag); run: bench/target/native/cancelcost [calls]
 */
#include "ferry_internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

size_t ferry_test_engine_size(void);
void ferry_test_engine_init(ferry_engine *mem, void *region, uint32_t capacity);
uint64_t ferry_test_step(ferry_engine *e, uint64_t head);

static int nop(ferry_call *c, void *data)
{
    (void)data;
    ferry_call_set_i64(c, ferry_call_arg(c, 0) + 1);
    return 0;
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Runs n calls through slot order from *seq; returns ns per call. */
static double run(ferry_engine *e, ferry_region *r, uint32_t cap, uint64_t *seq, long n)
{
    int64_t t0 = now_ns();
    for (long i = 0; i < n; i++) {
        uint64_t s = (*seq)++;
        ferry_slot *slot = &r->slots[s & (cap - 1)];
        slot->op = 0;
        slot->arg0 = (int64_t)s;
        slot->flags = 0;
        slot->ctx = FERRY_SYSTEM_CONTEXT;
        atomic_store_explicit(&slot->state, s << FERRY_SEQ_SHIFT | FERRY_PHASE_PUBLISHED, memory_order_release);
        ferry_test_step(e, s);
        /* The caller's part: check the outcome and free the slot. */
        if (slot->err != 0 || slot->result != (int64_t)(s + 1)) {
            fprintf(stderr, "call %llu failed: err %d\n", (unsigned long long)s, slot->err);
            exit(1);
        }
        atomic_store_explicit(&slot->state, (s + cap) << FERRY_SEQ_SHIFT | FERRY_PHASE_FREE, memory_order_release);
    }
    return (double)(now_ns() - t0) / (double)n;
}

int main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 200000;
    uint32_t cap = 1024;
    ferry_region *r = aligned_alloc(128, ferry_region_size(cap));
    ferry_engine *e = calloc(1, ferry_test_engine_size());
    for (uint32_t i = 0; i < cap; i++)
        atomic_init(&r->slots[i].state, (uint64_t)i << FERRY_SEQ_SHIFT);
    ferry_test_engine_init(e, r, cap);
    char err[256];
    if (ferry__register_op(&e->reg, "nop", nop, NULL, 0) != 0 || ferry__contexts_init(e, err, sizeof err) != 0) {
        fprintf(stderr, "cannot set the test engine up\n");
        return 1;
    }
    e->reg.sealed = true;
    uint64_t seq = 0;
    run(e, r, cap, &seq, n); /* warm */
    double off = 0, on = 0;
    int rounds = 10;
    for (int k = 0; k < rounds; k++) {
        e->cancel_hooked = (k & 1) != 0;
        double a = run(e, r, cap, &seq, n);
        e->cancel_hooked = (k & 1) == 0;
        double b = run(e, r, cap, &seq, n);
        if (k & 1) { on += a; off += b; } else { off += a; on += b; }
    }
    printf("engine step per call: %.1f ns without a cancel hook, %.1f ns with one: +%.1f ns (%d x %ld calls each)\n",
           off / rounds, on / rounds, (on - off) / rounds, rounds, n);
    free(e);
    free(r);
    return 0;
}
