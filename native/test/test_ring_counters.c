/*
 * test_ring_counters.c: the engine's counters block (ferry.h, "Engine counters"; ferry_counters.c), under
 * the plain, ASan and TSan builds (the name puts it in the TSan set).
 *
 *   attach_rules      a bad size, a misaligned block and a second block are refused
 *   counts_match      4 producers make N adds, K failing calls and J given-up spins each, while a reader
 *                     loads the counters (relaxed, as Java does); after the stop: every op's calls and
 *                     failures exactly, and the ops' calls + other + skipped + aborted = stats.completed
 *   abort_counted     an abort record counts as aborted, not as a call
 *   tracked_timed     a tracked op's calls are timed (its time covers the spin), an untracked op's are not;
 *                     TIME_ALL times every call and fills the engine-time histogram
 */
#include "ferry_test.h"
#include "ring_client.h"

#include <pthread.h>

#define PRODUCERS 4

static ferry_counters *attach(ring *r)
{
    int32_t ops = ferry_engine_op_count(r->engine);
    CHECK(ops > 0, "op count %d", ops);
    uint64_t size = ferry_counters_size((uint32_t)ops);
    ferry_counters *k = aligned_alloc(FERRY_BLOCK, (size_t)((size + FERRY_BLOCK - 1) / FERRY_BLOCK * FERRY_BLOCK));
    CHECK(k != NULL, "out of memory");
    memset(k, 0, (size_t)size);
    int rc = ferry_engine_attach_counters(r->engine, k, size);
    CHECK(rc == 0, "attach: %d", rc);
    CHECK(k->magic == FERRY_COUNTERS_MAGIC && k->op_count == (uint32_t)ops, "header");
    return k;
}

static void start(ring *r, uint32_t capacity)
{
    char err[512];
    int rc = ring_start(r, capacity, 50000, ft_testops(), FT_TESTOPS_INIT, NULL, err, sizeof err);
    CHECK(rc == 0, "ferry_engine_start: %d %s", rc, err);
    r->hang_ns = ft_hang_ns();
}

static uint64_t ld(_Atomic uint64_t *p)
{
    return atomic_load_explicit(p, memory_order_relaxed);
}

static void test_attach_rules(void)
{
    ring r;
    start(&r, 16);
    int32_t ops = ferry_engine_op_count(r.engine);
    uint64_t size = ferry_counters_size((uint32_t)ops);
    char *mem = aligned_alloc(FERRY_BLOCK, (size_t)(size + FERRY_BLOCK) / FERRY_BLOCK * FERRY_BLOCK + FERRY_BLOCK);
    memset(mem, 0, (size_t)size + FERRY_BLOCK);
    CHECK_EQ_I64(ferry_engine_attach_counters(r.engine, (ferry_counters *)mem, size - 1), FERRY_E_INVALID, "bad size");
    CHECK_EQ_I64(ferry_engine_attach_counters(r.engine, (ferry_counters *)(mem + 64), size), FERRY_E_INVALID,
                 "misaligned");
    CHECK_EQ_I64(ferry_engine_attach_counters(r.engine, (ferry_counters *)mem, size), 0, "first");
    CHECK_EQ_I64(ferry_engine_attach_counters(r.engine, (ferry_counters *)mem, size), FERRY_E_INVALID, "second");
    CHECK(ring_stop(&r, ft_hang_ns()) == 0, "stop");
    free(mem);
}

typedef struct producer {
    ring *r;
    int32_t add, fail, spin;
    long calls, failures, give_ups;
} producer;

static void *produce(void *arg)
{
    producer *p = arg;
    ring_res res;
    for (long i = 0; i < p->calls; i++) {
        CHECK(ring_call2(p->r, p->add, i, 1, &res) == RING_OK && res.result == i + 1, "add");
        ring_res_free(&res);
    }
    for (long i = 0; i < p->failures; i++) {
        CHECK(ring_call_bytes(p->r, p->fail, 9, "boom", 4, &res) == RING_OK && res.err == 9, "fail");
        ring_res_free(&res);
    }
    for (long i = 0; i < p->give_ups; i++) {
        ring_req q = { .op = p->spin, .arg0 = INT64_C(5000000000) };
        CHECK(ring_call_timed(p->r, &q, &res, 1000) == RING_TIMEDOUT, "give up");
    }
    return NULL;
}

typedef struct reader {
    ferry_counters *k;
    _Atomic int stop;
    uint64_t last;
} reader;

static void *read_counters(void *arg)
{
    reader *rd = arg;
    while (!atomic_load_explicit(&rd->stop, memory_order_acquire)) {
        uint64_t sum = ld(&rd->k->failed) + ld(&rd->k->skipped) + ld(&rd->k->runs) + ld(&rd->k->sampled_ns);
        for (uint32_t i = 0; i < rd->k->op_count; i++)
            sum += ld(&rd->k->ops[i].calls);
        rd->last = sum;
    }
    return NULL;
}

static void test_counts_match(void)
{
    ring r;
    start(&r, 64);
    ferry_counters *k = attach(&r);
    int32_t add = ring_op(&r, "add"), fail = ring_op(&r, "fail"), spin = ring_op(&r, "spin");
    const long calls = ft_scaled(20000, 1000), failures = 37, give_ups = 5;
    producer p[PRODUCERS];
    pthread_t t[PRODUCERS], rt;
    reader rd = { .k = k };
    atomic_init(&rd.stop, 0);
    CHECK(pthread_create(&rt, NULL, read_counters, &rd) == 0, "reader");
    for (int i = 0; i < PRODUCERS; i++) {
        p[i] = (producer){ .r = &r, .add = add, .fail = fail, .spin = spin, .calls = calls, .failures = failures,
                           .give_ups = give_ups };
        CHECK(pthread_create(&t[i], NULL, produce, &p[i]) == 0, "producer");
    }
    for (int i = 0; i < PRODUCERS; i++)
        pthread_join(t[i], NULL);
    atomic_store_explicit(&rd.stop, 1, memory_order_release);
    pthread_join(rt, NULL);
    ferry_engine_stop(r.engine);
    CHECK(ferry_engine_join(r.engine, ft_hang_ns()) == 0, "join");
    uint64_t completed = ld(&r.region->stats.completed);
    CHECK_EQ_I64(ld(&k->ops[add].calls), PRODUCERS * calls, "add calls");
    CHECK_EQ_I64(ld(&k->ops[add].failed), 0, "add failed");
    CHECK_EQ_I64(ld(&k->ops[fail].calls), PRODUCERS * failures, "fail calls");
    CHECK_EQ_I64(ld(&k->ops[fail].failed), PRODUCERS * failures, "fail failed");
    CHECK_EQ_I64(ld(&k->failed), PRODUCERS * failures, "failed");
    CHECK_EQ_I64(ld(&k->ops[spin].calls) + ld(&k->skipped), PRODUCERS * give_ups, "spins run + skipped");
    uint64_t taken = ld(&k->other) + ld(&k->skipped) + ld(&k->aborted);
    for (uint32_t i = 0; i < k->op_count; i++)
        taken += ld(&k->ops[i].calls);
    CHECK_EQ_I64(taken, completed, "every slot the engine took is counted once");
    CHECK(ld(&k->runs) > 0 && ld(&k->sampled_runs) > 0, "runs %llu, sampled %llu", (unsigned long long)ld(&k->runs),
          (unsigned long long)ld(&k->sampled_runs));
    CHECK(ld(&k->sampled_calls) >= ld(&k->sampled_runs), "a sampled run took at least one slot");
    CHECK(ld(&k->sampled_cpu_ns) <= ld(&k->sampled_ns) + ld(&k->sampled_runs) * 1000, "on-core time within wall time");
    CHECK_EQ_I64(ld(&k->timed_calls), 0, "nothing tracked: nothing timed");
    ferry_engine_destroy(r.engine);
    free(r.region);
    ring_free_cells(&r);
    free(k);
}

static void test_abort_counted(void)
{
    ring r;
    start(&r, 16);
    ferry_counters *k = attach(&r);
    uint64_t seq;
    CHECK(ring_claim(&r, &seq) == RING_OK, "claim");
    CHECK(ring_wait_free(&r, seq, ring_now_ns() + r.hang_ns) == RING_OK, "free");
    ring_slot(&r, seq)->op = FERRY_OP_ABORT;
    ring_slot(&r, seq)->flags = 0;
    ring_publish(&r, seq, FERRY_FLAG_GONE);
    ring_res res;
    CHECK(ring_call2(&r, ring_op(&r, "add"), 1, 2, &res) == RING_OK && res.result == 3, "a call after it");
    ring_res_free(&res);
    ferry_engine_stop(r.engine);
    CHECK(ferry_engine_join(r.engine, ft_hang_ns()) == 0, "join");
    CHECK_EQ_I64(ld(&k->aborted), 1, "aborted");
    CHECK_EQ_I64(ld(&k->skipped), 0, "skipped");
    ferry_engine_destroy(r.engine);
    free(r.region);
    ring_free_cells(&r);
    free(k);
}

static void test_tracked_timed(void)
{
    ring r;
    start(&r, 16);
    ferry_counters *k = attach(&r);
    int32_t spin = ring_op(&r, "spin"), add = ring_op(&r, "add");
    atomic_store_explicit(&k->ops[spin].track, 1, memory_order_relaxed);
    ring_res res;
    for (int i = 0; i < 5; i++) {
        CHECK(ring_call2(&r, spin, 200000, 0, &res) == RING_OK, "spin");
        CHECK(ring_call2(&r, add, 1, 2, &res) == RING_OK, "add");
    }
    CHECK_EQ_I64(ld(&k->ops[spin].timed_calls), 5, "spin timed");
    CHECK(ld(&k->ops[spin].timed_ns) >= 5 * 200000, "spin time %llu", (unsigned long long)ld(&k->ops[spin].timed_ns));
    CHECK_EQ_I64(ld(&k->ops[add].timed_calls), 0, "add untracked");
    atomic_store_explicit(&k->control, FERRY_COUNTERS_TIME_ALL, memory_order_relaxed);
    for (int i = 0; i < 7; i++)
        CHECK(ring_call2(&r, add, 1, 2, &res) == RING_OK, "add");
    CHECK_EQ_I64(ld(&k->ops[add].timed_calls), 7, "TIME_ALL times add");
    uint64_t in_hist = 0;
    for (uint32_t i = 0; i < FERRY_HIST_BUCKETS; i++)
        in_hist += ld(&k->hist[i]);
    CHECK_EQ_I64(in_hist, ld(&k->timed_calls), "every timed call is in the histogram");
    CHECK_EQ_I64(ferry_hist_index(15), 15, "hist 15");
    CHECK_EQ_I64(ferry_hist_index(16), 16, "hist 16");
    CHECK_EQ_I64(ferry_hist_index(33), 32, "hist 33");
    CHECK_EQ_I64(ferry_hist_index(UINT64_C(1) << 40), FERRY_HIST_BUCKETS - 16, "hist 2^40");
    CHECK_EQ_I64(ferry_hist_index(UINT64_MAX), FERRY_HIST_BUCKETS - 1, "hist max");
    CHECK(ring_stop(&r, ft_hang_ns()) == 0, "stop");
    free(k);
}

int main(void)
{
    int64_t t0 = ft_now_ns();
    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        { "attach_rules", test_attach_rules },
        { "counts_match", test_counts_match },
        { "abort_counted", test_abort_counted },
        { "tracked_timed", test_tracked_timed },
    };
    const int n = (int)(sizeof tests / sizeof tests[0]);
    for (int i = 0; i < n; i++) {
        int64_t t = ft_now_ns();
        ft_test_name = tests[i].name;
        tests[i].fn();
        ft_case_done(tests[i].name, t);
    }
    printf("test_ring_counters: %d tests passed in %.2f s\n", n, (ft_now_ns() - t0) / 1e9);
    return 0;
}
