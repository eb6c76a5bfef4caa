/*
 * test_ring_cancel.c: ferry_engine_cancel and the cancel hooks (ferry_registry_on_cancel), with the
 * example engine's example.block, an op that only its cancel hook can stop.
 *
 *   stops_blocked_op   a blocked op ends, cancelled, once ferry_engine_cancel runs its hook
 *   not_running        a cancel for a seq that finished, has not started, or while another call runs,
 *                      runs no hook and returns 0; an engine without hooks never runs any
 *   next_call_stress   cancellers keep cancelling seq while the engine finishes it and starts seq + 1
 *                      (a short block that reports any interrupt): seq + 1 is never interrupted, and a
 *                      cancel issued after seq was seen done always returns 0
 */
#include "ferry_test.h"
#include "ring_client.h"

#include <pthread.h>
#include <stdatomic.h>

#define EXAMPLE_LIB "build/native/libferry_example.so"

static int32_t op_block;

/* Starts an engine on the plug-in (NULL: the test ops' plug-in). */
static void start(ring *r, const char *plugin, const char *symbol)
{
    bool example = plugin != NULL;
    if (!plugin) {
        plugin = ft_testops();
        symbol = FT_TESTOPS_INIT;
    }
    char err[512] = "";
    int rc = ring_start(r, 16, 1000000, plugin, symbol, NULL, err, sizeof err);
    CHECK(rc == 0, "ferry_engine_start(%s): %d %s", plugin, rc, err);
    r->hang_ns = ft_hang_ns();
    if (example) {
        op_block = ring_op(r, "example.block");
        CHECK(op_block >= 0, "no example.block");
    }
}

static void finish(ring *r)
{
    CHECK(ring_stop(r, ft_hang_ns()) == 0, "the engine did not stop");
}

/* Claims, fills and publishes example.block(ns); returns its seq. */
static uint64_t submit_block(ring *r, int64_t ns)
{
    uint64_t seq;
    CHECK(ring_claim(r, &seq) == RING_OK, "claim");
    ring_req q = { .op = op_block, .arg0 = ns };
    CHECK(ring_wait_free(r, seq, ft_now_ns() + r->hang_ns) == RING_OK, "slot of seq %llu never freed",
          (unsigned long long)seq);
    CHECK(ring_fill(r, seq, &q) == RING_OK, "fill");
    ring_publish(r, seq, 0);
    return seq;
}

static bool is_done(ring *r, uint64_t seq)
{
    /* Acquire: pairs with the engine's release CAS that made the call DONE on its cell. */
    return ring_done(r, seq);
}

static int64_t take_result(ring *r, uint64_t seq, const char *what)
{
    CHECK(ring_wait_done(r, seq, ft_now_ns() + r->hang_ns) == RING_OK, "%s: never done", what);
    ring_res res;
    ring_take(r, seq, &res);
    CHECK(res.err == 0, "%s: err %d (%s)", what, res.err, res.out ? res.out : "");
    ring_res_free(&res);
    return res.result;
}

static void test_stops_blocked_op(void)
{
    ft_test_name = "stops_blocked_op";
    ring r;
    start(&r, EXAMPLE_LIB, "example_engine_init");
    for (int round = 0; round < 3; round++) {
        uint64_t seq = submit_block(&r, r.hang_ns);
        int64_t deadline = ft_now_ns() + r.hang_ns;
        CHECK(ring_await_started(&r, seq, deadline) == RING_OK, "the block never started");
        /* A hook that lands before the op takes its snapshot is not its own (example.block): cancel
         * until the call ends. */
        long hooked = 0;
        while (!is_done(&r, seq)) {
            hooked += ferry_engine_cancel(r.engine, seq);
            CHECK(ft_now_ns() < deadline, "the block ignored %ld cancels", hooked);
            usleep(100);
        }
        CHECK(hooked > 0, "the block ended without a cancel");
        CHECK_EQ_I64(take_result(&r, seq, "cancelled block"), 1, "the block says it was cancelled");
    }
    finish(&r);
}

static void test_not_running(void)
{
    ft_test_name = "not_running";
    ring r;
    start(&r, EXAMPLE_LIB, "example_engine_init");
    uint64_t done = submit_block(&r, 0);
    CHECK_EQ_I64(take_result(&r, done, "block(0)"), 0, "block(0) was not cancelled");
    CHECK_EQ_I64(ferry_engine_cancel(r.engine, done), 0, "a cancel of a finished call");
    CHECK_EQ_I64(ferry_engine_cancel(r.engine, done + 1), 0, "a cancel of a call not yet claimed");
    CHECK_EQ_I64(ferry_engine_cancel(r.engine, UINT64_MAX), 0, "a cancel of seq 2^64 - 1");
    /* While done + 1 blocks, cancels of other seqs leave it alone: it runs out its 50 ms. */
    uint64_t running = submit_block(&r, 50 * FT_MS);
    CHECK(ring_await_started(&r, running, ft_now_ns() + r.hang_ns) == RING_OK, "the block never started");
    for (int i = 0; i < 100; i++) {
        CHECK_EQ_I64(ferry_engine_cancel(r.engine, done), 0, "a cancel of the previous call");
        CHECK_EQ_I64(ferry_engine_cancel(r.engine, running + 1), 0, "a cancel of the next call");
    }
    CHECK_EQ_I64(take_result(&r, running, "block(50 ms)"), 0, "the running block was interrupted");
    finish(&r);

    /* The test ops register no hook: nothing to run, whatever runs. */
    start(&r, NULL, NULL);
    int32_t spin = ring_op(&r, "spin");
    CHECK(spin >= 0, "no spin op");
    uint64_t seq;
    CHECK(ring_claim(&r, &seq) == RING_OK, "claim");
    ring_req q = { .op = spin, .arg0 = 20 * FT_MS };
    CHECK(ring_wait_free(&r, seq, ft_now_ns() + r.hang_ns) == RING_OK && ring_fill(&r, seq, &q) == RING_OK, "fill");
    ring_publish(&r, seq, 0);
    CHECK(ring_await_started(&r, seq, ft_now_ns() + r.hang_ns) == RING_OK, "spin never started");
    CHECK_EQ_I64(ferry_engine_cancel(r.engine, seq), 0, "a cancel on an engine without hooks");
    CHECK(ring_wait_done(&r, seq, ft_now_ns() + r.hang_ns) == RING_OK, "spin never done");
    ring_res res;
    ring_take(&r, seq, &res);
    ring_res_free(&res);
    finish(&r);
}

/* ---- next_call_stress ------------------------------------------------------------------------------ */

#define CANCELLERS 1

typedef struct stress {
    ring *r;
    _Atomic uint64_t target;   /* seq + 1 of the long block to cancel; 0: none yet */
    _Atomic uint64_t seen_done;/* seq + 1 of the last long block the submitter saw DONE */
    _Atomic int stop;
    _Atomic long hooked;       /* cancels that ran the hooks */
    _Atomic long late;         /* cancels that ran the hooks after their seq was seen done: a bug */
} stress;

static void *canceller_main(void *arg)
{
    stress *st = arg;
    while (!atomic_load_explicit(&st->stop, memory_order_acquire)) {
        uint64_t t = atomic_load_explicit(&st->target, memory_order_acquire);
        if (t == 0)
            continue;
        /* Acquire: pairs with the submitter's release store, made after its acquire of the DONE state:
         * if it says seq is done, the engine had closed seq's cancel window before. */
        bool was_done = atomic_load_explicit(&st->seen_done, memory_order_acquire) == t;
        int ran = ferry_engine_cancel(st->r->engine, t - 1);
        atomic_fetch_add_explicit(&st->hooked, ran, memory_order_relaxed);
        if (ran && was_done)
            atomic_fetch_add_explicit(&st->late, 1, memory_order_relaxed);
    }
    return NULL;
}

static void test_next_call_stress(void)
{
    ft_test_name = "next_call_stress";
    ring r;
    start(&r, EXAMPLE_LIB, "example_engine_init");
    static stress st;
    st = (stress){ .r = &r };
    pthread_t th[CANCELLERS];
    for (int i = 0; i < CANCELLERS; i++)
        CHECK(pthread_create(&th[i], NULL, canceller_main, &st) == 0, "pthread_create");
    long rounds = ft_scaled(1000, 200);
    for (long i = 0; i < rounds; i++) {
        /* The long block ends only when a hook fires, while the short one is already published behind
         * it: the engine starts seq + 1 at once, with the cancellers still cancelling seq. */
        uint64_t seq = submit_block(&r, r.hang_ns);
        uint64_t next = submit_block(&r, 200 * 1000);
        CHECK_EQ_I64(next, seq + 1, "the short block follows the long one");
        atomic_store_explicit(&st.target, seq + 1, memory_order_release);
        CHECK(ring_wait_done(&r, seq, ft_now_ns() + r.hang_ns) == RING_OK, "round %ld: the long block never ended",
              i);
        atomic_store_explicit(&st.seen_done, seq + 1, memory_order_release);
        CHECK_EQ_I64(take_result(&r, seq, "long block"), 1, "the long block was cancelled");
        CHECK_EQ_I64(take_result(&r, next, "short block"), 0, "the short block behind a cancelled one");
    }
    atomic_store_explicit(&st.stop, 1, memory_order_release);
    for (int i = 0; i < CANCELLERS; i++)
        pthread_join(th[i], NULL);
    CHECK_EQ_I64(atomic_load(&st.late), 0, "cancels that ran hooks after their call was seen done");
    CHECK(atomic_load(&st.hooked) >= rounds, "%ld hooks for %ld rounds", atomic_load(&st.hooked), rounds);
    finish(&r);
}

int main(void)
{
    if (access(EXAMPLE_LIB, R_OK) != 0) {
        fprintf(stderr, "test_ring_cancel: skipped: %s is not built (make native)\n", EXAMPLE_LIB);
        return 77;
    }
    int64_t t0 = ft_now_ns();
    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        { "stops_blocked_op", test_stops_blocked_op },
        { "not_running", test_not_running },
        { "next_call_stress", test_next_call_stress },
    };
    const int n = (int)(sizeof tests / sizeof tests[0]);
    for (int i = 0; i < n; i++) {
        int64_t t = ft_now_ns();
        tests[i].fn();
        ft_case_done(tests[i].name, t);
    }
    printf("test_ring_cancel: %d tests passed in %.2f s\n", n, (double)(ft_now_ns() - t0) / 1e9);
    return 0;
}
