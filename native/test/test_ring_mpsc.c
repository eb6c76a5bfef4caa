/*
 * test_ring_mpsc.c: many producer threads against one engine, through the shared ring alone.
 *
 * Every producer interleaves the test ops' `order` op (the engine fails a call that runs out of its
 * producer's order, so per-producer FIFO is checked on the engine thread itself), `add` with a result
 * unique to the call (a result delivered to the wrong caller shows), and now and then `echo_bytes` (input
 * and output ownership through the ring, checked by ASan). Rings of 4 slots wrap thousands of times;
 * 65536 slots never wrap; idle_spin_ns = 0 makes the engine sleep whenever it runs dry, so every publish
 * races the sleep announcement (sleep_race aims publishes at the moment the engine heads for sleep).
 *
 * FERRY_TEST_SCALE scales the number of calls; TSan and ASan builds scale down by themselves.
 */
#include "ferry_test.h"
#include "ring_client.h"

#include <pthread.h>

#define MAX_PRODUCERS 16

typedef enum { CLAIM_FETCH_ADD, CLAIM_TRY } claim_mode;

typedef struct shared {
    ring r;
    int32_t op_order, op_add, op_echo_bytes;
    long calls;               /* per producer */
    claim_mode mode;
    _Atomic int go;
    _Atomic long full;        /* try-claims that found the next slot busy */
    _Atomic long saw_sleeping;/* publishes that found the engine asleep */
} shared;

typedef struct producer {
    shared *sh;
    int id;
    pthread_t thread;
} producer;

/* One whole call, by fetch_add claim or by try-claim, counting how often the engine slept. */
static void do_call(shared *sh, const ring_req *q, ring_res *res)
{
    ring *r = &sh->r;
    uint64_t seq = 0;
    if (sh->mode == CLAIM_TRY) {
        uint32_t spins = 0;
        int64_t deadline = ring_now_ns() + r->hang_ns;
        int rc;
        while ((rc = ring_try_claim(r, &seq)) == RING_FULL) {
            atomic_fetch_add_explicit(&sh->full, 1, memory_order_relaxed);
            CHECK(ring_backoff(&spins, deadline), "try-claim found the ring full for too long");
        }
        CHECK(rc == RING_OK, "try-claim rejected (%d) while the ring is open", rc);
        /* try-claim only takes a slot that is already free: no waiting here. */
        uint64_t st = atomic_load_explicit(&ring_slot(r, seq)->state, memory_order_acquire);
        CHECK(st == ring_free_state(seq), "try-claimed seq %llu but its slot reads %#llx, not FREE(seq)",
              (unsigned long long)seq, (unsigned long long)st);
    } else {
        int rc = ring_claim(r, &seq);
        CHECK(rc == RING_OK, "claim rejected (%d) while the ring is open", rc);
        CHECK(ring_wait_free(r, seq, ring_now_ns() + r->hang_ns) == RING_OK,
              "seq %llu: its slot never became FREE(seq)", (unsigned long long)seq);
    }
    CHECK(ring_fill(r, seq, q) == RING_OK, "out of memory filling a slot");
    if (atomic_load_explicit(&r->region->engine.sleeping, memory_order_relaxed))
        atomic_fetch_add_explicit(&sh->saw_sleeping, 1, memory_order_relaxed);
    ring_publish(r, seq, 0);
    CHECK(ring_wait_done(r, seq, ring_now_ns() + r->hang_ns) == RING_OK,
          "seq %llu: call never completed (cell %#llx, slot %#llx, started %llu)", (unsigned long long)seq,
          (unsigned long long)ring_cell_state(r, seq),
          (unsigned long long)atomic_load(&ring_slot(r, seq)->state), (unsigned long long)ring_started(r));
    ring_take(r, seq, res);
}

static void *producer_main(void *arg)
{
    producer *p = arg;
    shared *sh = p->sh;
    while (!atomic_load_explicit(&sh->go, memory_order_acquire))
        sched_yield();
    int64_t n = 0;
    unsigned char in[64], expect[64];
    for (long i = 1; i <= sh->calls; i++) {
        ring_res res;
        if (i % 97 == 0) {
            size_t len = (size_t)(i % 64) + 1;
            for (size_t k = 0; k < len; k++)
                in[k] = expect[k] = (unsigned char)(p->id * 31 + i + (long)k);
            ring_req q = { .op = sh->op_echo_bytes, .has_input = true, .in = in, .in_len = len };
            do_call(sh, &q, &res);
            CHECK(res.err == 0, "producer %d: echo_bytes failed: %d %s", p->id, res.err, res.out ? res.out : "");
            CHECK(res.out_kind == FERRY_OUT_BYTES && res.out_len == len && res.out,
                  "producer %d: echo_bytes gave kind %u, %llu bytes (sent %zu)", p->id, res.out_kind,
                  (unsigned long long)res.out_len, len);
            CHECK(memcmp(res.out, expect, len) == 0, "producer %d: echo_bytes returned other bytes", p->id);
        } else if (i & 1) {
            n++;
            ring_req q = { .op = sh->op_order, .arg0 = p->id, .arg1 = n };
            do_call(sh, &q, &res);
            CHECK(res.err == 0, "producer %d call %lld: order failed: err %d: %s", p->id, (long long)n, res.err,
                  res.out ? res.out : "(no message)");
            CHECK_EQ_I64(res.result, n, "order result");
            CHECK(res.out_kind == FERRY_OUT_NONE && res.out == NULL && res.out_len == 0,
                  "order returned output (kind %u)", res.out_kind);
        } else {
            int64_t a = ((int64_t)p->id << 40) + i, b = i * 7 + 3;
            ring_req q = { .op = sh->op_add, .arg0 = a, .arg1 = b };
            do_call(sh, &q, &res);
            CHECK(res.err == 0, "producer %d: add failed: %d", p->id, res.err);
            CHECK(res.result == a + b, "producer %d call %ld: add(%lld, %lld) returned %lld: another call's result?",
                  p->id, i, (long long)a, (long long)b, (long long)res.result);
        }
        ring_res_free(&res);
    }
    return NULL;
}

/* Runs nproducers x calls through a fresh engine, then checks the ring's counters and every slot. */
static void run(const char *name, uint32_t capacity, int64_t idle_spin_ns, int nproducers, long calls,
                claim_mode mode)
{
    ft_test_name = name;
    int64_t t0 = ft_now_ns();
    static shared sh;
    memset(&sh, 0, sizeof(sh));
    char err[512];
    int rc = ring_start(&sh.r, capacity, idle_spin_ns, ft_testops(), FT_TESTOPS_INIT, NULL, err, sizeof err);
    CHECK(rc == 0, "ferry_engine_start: %d %s", rc, err);
    sh.r.hang_ns = ft_hang_ns();
    sh.op_order = ring_op(&sh.r, "order");
    sh.op_add = ring_op(&sh.r, "add");
    sh.op_echo_bytes = ring_op(&sh.r, "echo_bytes");
    CHECK(sh.op_order >= 0 && sh.op_add >= 0 && sh.op_echo_bytes >= 0, "test ops missing");
    sh.calls = calls;
    sh.mode = mode;

    producer ps[MAX_PRODUCERS];
    for (int i = 0; i < nproducers; i++) {
        ps[i] = (producer){ .sh = &sh, .id = i + 1 };
        CHECK(pthread_create(&ps[i].thread, NULL, producer_main, &ps[i]) == 0, "pthread_create");
    }
    atomic_store_explicit(&sh.go, 1, memory_order_release);
    for (int i = 0; i < nproducers; i++)
        pthread_join(ps[i].thread, NULL);

    uint64_t total = (uint64_t)nproducers * (uint64_t)calls;
    uint64_t closed = ferry_engine_stop(sh.r.engine);
    CHECK(closed == total, "stop returned %llu, expected %llu claimed calls", (unsigned long long)closed,
          (unsigned long long)total);
    rc = ferry_engine_join(sh.r.engine, ft_hang_ns());
    CHECK(rc == 0, "engine did not stop: %d", rc);
    ferry_region *reg = sh.r.region;
    CHECK(atomic_load(&reg->engine.state) == FERRY_ENGINE_STOPPED, "engine state %u after join",
          atomic_load(&reg->engine.state));
    CHECK(atomic_load(&reg->stats.head) == total, "engine head %llu, expected %llu",
          (unsigned long long)atomic_load(&reg->stats.head), (unsigned long long)total);
    CHECK(atomic_load(&reg->stats.completed) == total, "engine completed %llu, expected %llu",
          (unsigned long long)atomic_load(&reg->stats.completed), (unsigned long long)total);
    CHECK(atomic_load(&reg->tail.tail) == (FERRY_TAIL_CLOSED | total), "tail %#llx after stop",
          (unsigned long long)atomic_load(&reg->tail.tail));
    /* Every slot was handed on to its next lap: slot i reads FREE(first seq >= total that maps to i). */
    for (uint32_t i = 0; i < capacity; i++) {
        uint64_t next = total + ((i - total) & (uint64_t)(capacity - 1));
        uint64_t st = atomic_load(&reg->slots[i].state);
        CHECK(st == ring_free_state(next), "slot %u reads %#llx, expected FREE(%llu)", i, (unsigned long long)st,
              (unsigned long long)next);
    }
    if (idle_spin_ns == 0 && nproducers == 1)
        CHECK(atomic_load(&sh.saw_sleeping) > 0, "the engine never slept with idle_spin_ns = 0");
    ferry_engine_destroy(sh.r.engine);
    free(sh.r.region);
    ring_free_cells(&sh.r);
    ft_case_done(name, t0);
}

/* One producer, one call at a time, each published only once the engine has announced that it sleeps:
 * every call needs the wake protocol to complete. */
static void run_wake_every_call(long calls)
{
    ft_test_name = "wake_every_call";
    int64_t t0 = ft_now_ns();
    ring r;
    char err[512];
    int rc = ring_start(&r, 2, 0, ft_testops(), FT_TESTOPS_INIT, NULL, err, sizeof err);
    CHECK(rc == 0, "ferry_engine_start: %d %s", rc, err);
    r.hang_ns = ft_hang_ns();
    int32_t op_add = ring_op(&r, "add");
    for (long i = 0; i < calls; i++) {
        int64_t deadline = ring_now_ns() + r.hang_ns;
        uint32_t spins = 0;
        while (atomic_load_explicit(&r.region->engine.sleeping, memory_order_seq_cst) == 0)
            CHECK(ring_backoff(&spins, deadline), "call %ld: idle engine with idle_spin_ns = 0 never slept", i);
        ring_res res;
        CHECK(ring_call2(&r, op_add, i, 1000, &res) == RING_OK, "call %ld hung: the engine missed a wake-up", i);
        CHECK_EQ_I64(res.result, i + 1000, "add result");
    }
    CHECK(ring_stop(&r, ft_hang_ns()) == 0, "engine did not stop");
    ft_case_done(ft_test_name, t0);
}

/* The Dekker race itself: publish just as the engine, having finished a call, heads for sleep. With
 * idle_spin_ns = 0 the engine finishes a call, looks at the ring once more and announces sleep, all
 * within a few hundred ns, too fast for a producer that waits to see the call DONE. So every call is a
 * spin of 10 us, and the producer publishes the next one at a time aimed at the end of the running one:
 * from 1 us before to 3 us after, swept. Some publishes land between the engine's last look and its
 * sleep announcement; an engine that then sleeps without looking again misses them, and the test
 * fails on a call that never starts. */
static void run_sleep_race(long calls)
{
    ft_test_name = "sleep_race";
    int64_t t0 = ft_now_ns();
    ring r;
    char err[512];
    int rc = ring_start(&r, 4, 0, ft_testops(), FT_TESTOPS_INIT, NULL, err, sizeof err);
    CHECK(rc == 0, "ferry_engine_start: %d %s", rc, err);
    r.hang_ns = ft_hang_ns();
    const int64_t spin_ns = 10000;
    ring_req q = { .op = ring_op(&r, "spin"), .arg0 = spin_ns };
    uint64_t prev = 0;
    long slept = 0;
    CHECK(ring_claim(&r, &prev) == RING_OK && ring_wait_free(&r, prev, ring_now_ns() + r.hang_ns) == RING_OK, "claim");
    CHECK(ring_fill(&r, prev, &q) == RING_OK, "fill");
    ring_publish(&r, prev, 0);
    for (long i = 1; i < calls; i++) {
        uint64_t seq = 0;
        CHECK(ring_claim(&r, &seq) == RING_OK, "claim");
        CHECK(ring_wait_free(&r, seq, ring_now_ns() + r.hang_ns) == RING_OK, "slot never free");
        CHECK(ring_fill(&r, seq, &q) == RING_OK, "fill");
        /* Spin (no yield: timing matters) until the previous call runs (the engine has started it:
         * stats.started > prev), then until the aimed moment. */
        _Atomic uint64_t *started = &r.region->stats.started;
        int64_t deadline = ring_now_ns() + r.hang_ns;
        for (uint32_t k = 0; atomic_load_explicit(started, memory_order_acquire) <= prev; k++)
            if ((k & 4095) == 4095)
                CHECK(ring_now_ns() < deadline, "call %ld never started: the engine slept through its publish", i - 1);
        int64_t aim = ring_now_ns() + spin_ns + (i * 37) % 4096 - 1024;
        while (ring_now_ns() < aim)
            ring_relax();
        if (atomic_load_explicit(&r.region->engine.sleeping, memory_order_relaxed))
            slept++;
        ring_publish(&r, seq, 0);
        CHECK(ring_wait_done(&r, prev, ring_now_ns() + r.hang_ns) == RING_OK, "call %ld never completed", i - 1);
        ring_res res;
        ring_take(&r, prev, &res);
        CHECK(res.err == 0 && res.result >= spin_ns, "spin call %ld: err %d, ran %lld ns", i - 1, res.err,
              (long long)res.result);
        prev = seq;
    }
    CHECK(ring_wait_done(&r, prev, ring_now_ns() + r.hang_ns) == RING_OK, "the last call never completed");
    ring_res res;
    ring_take(&r, prev, &res);
    /* How often the sweep found the engine asleep: diagnostics only (a loaded machine skews it). */
    const char *v = getenv("FERRY_TEST_VERBOSE");
    if (v && *v && *v != '0')
        fprintf(stderr, "  sleep_race: engine asleep at %ld of %ld publishes\n", slept, calls - 1);
    CHECK(ring_stop(&r, ft_hang_ns()) == 0, "engine did not stop");
    ft_case_done(ft_test_name, t0);
}

int main(void)
{
    int64_t t0 = ft_now_ns();
    long many = ft_scaled(4000, 200);    /* calls per producer on the small rings */
    long large = ft_scaled(8000, 300);  /* calls per producer on the 65536-slot ring */

    run("mpsc_cap4", 4, 50000, 8, many, CLAIM_FETCH_ADD);
    run("mpsc_cap1", 1, 50000, 4, many / 2, CLAIM_FETCH_ADD);
    run("mpsc_cap65536", 65536, 50000, 8, large, CLAIM_FETCH_ADD);
    run("mpsc_try_claim_cap4", 4, 50000, 8, many / 2, CLAIM_TRY);
    run("mpsc_sleepy_cap4", 4, 0, 8, many / 2, CLAIM_FETCH_ADD);
    run("mpsc_sleepy_cap64", 64, 0, 8, many / 2, CLAIM_FETCH_ADD);
    run("sleepy_single_producer", 4, 0, 1, many, CLAIM_FETCH_ADD);
    run_wake_every_call(ft_scaled(3000, 200));
    run_sleep_race(ft_scaled(20000, 2000));

    printf("test_ring_mpsc: 9 tests passed in %.2f s\n", (double)(ft_now_ns() - t0) / 1e9);
    return 0;
}
