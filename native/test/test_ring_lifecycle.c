/*
 * test_ring_lifecycle.c: stopping, giving up, abort records, the wake callback and join timeouts.
 *
 *   stop_mid_flight*         producers keep calling while the engine is stopped: every claim before the
 *                            stop point completes with its own result, every later claim is rejected
 *   stop_waits_for_claimed*  a claimed but unpublished call holds the engine up until it is published
 *   stop_sleeping_engine     stop wakes an engine asleep on its futex
 *   gone_skip_noop           a call given up (GONE) before the engine reached it is reported skipped
 *                            (stats.started <= seq) and is skipped: the engine frees its slot to
 *                            FREE(seq + capacity) without writing a result
 *   gone_skip_input          the same with input bytes (the engine frees them: ASan's leak check)
 *   gone_running             GONE set while `spin` runs: reported "may be running", the op stops
 *                            early, the engine frees the slot
 *   gone_running_output      GONE set while echo_bytes runs: the engine frees the output and the slot
 *   gone_race                timed calls with tiny timeouts, so GONE races the engine's start and its
 *                            DONE add; a counter op shows that no call reported skipped ever ran
 *   abort_record             an op FERRY_OP_ABORT + GONE record is skipped (with and without input)
 *   wake_callback            FERRY_WAKE_HELLO once at start, on the engine thread; the slot index for a
 *                            parked or async call; never for a call nobody parked on or a GONE one
 *   wake_hello_failed_start  HELLO comes even when the engine's init then fails
 *   join_timeout             join times out while a long op runs, then succeeds
 */
#include "ferry_test.h"
#include "ring_client.h"

#include <pthread.h>

/* ---- helpers ------------------------------------------------------------------------------------ */

/* An engine with the test ops' plug-in. */
static void start(ring *r, uint32_t capacity, int64_t idle_spin_ns, ferry_wake_fn wake)
{
    char err[512];
    int rc = ring_start(r, capacity, idle_spin_ns, ft_testops(), FT_TESTOPS_INIT, wake, err, sizeof err);
    CHECK(rc == 0, "ferry_engine_start: %d %s", rc, err);
    r->hang_ns = ft_hang_ns();
}

static int32_t op(ring *r, const char *name)
{
    int32_t id = ring_op(r, name);
    CHECK(id >= 0, "no test op %s", name);
    return id;
}

/* After join: every slot has been handed on, slot i reads FREE(first seq >= closed mapping to i). */
static void check_slots_released(ring *r, uint64_t closed)
{
    for (uint32_t i = 0; i < r->capacity; i++) {
        uint64_t next = closed + ((i - closed) & r->mask);
        uint64_t st = atomic_load(&r->region->slots[i].state);
        CHECK(st == ring_free_state(next), "slot %u reads %#llx, expected FREE(%llu)", i, (unsigned long long)st,
              (unsigned long long)next);
    }
}

/* Stops, joins (bounded), checks the counters and the slots, frees everything. */
static void finish(ring *r)
{
    uint64_t closed = ferry_engine_stop(r->engine);
    int rc = ferry_engine_join(r->engine, ft_hang_ns());
    CHECK(rc == 0, "the engine did not stop within the deadline: %d", rc);
    CHECK(atomic_load(&r->region->engine.state) == FERRY_ENGINE_STOPPED, "engine state %u after join",
          atomic_load(&r->region->engine.state));
    CHECK(atomic_load(&r->region->stats.completed) == closed, "engine completed %llu calls, %llu were accepted",
          (unsigned long long)atomic_load(&r->region->stats.completed), (unsigned long long)closed);
    check_slots_released(r, closed);
    ferry_engine_destroy(r->engine);
    free(r->region);
    ring_free_cells(r);
    r->engine = NULL;
    r->region = NULL;
}

static uint64_t claim(ring *r)
{
    uint64_t seq = 0;
    CHECK(ring_claim(r, &seq) == RING_OK, "claim rejected on an open ring");
    CHECK(ring_wait_free(r, seq, ring_now_ns() + r->hang_ns) == RING_OK, "seq %llu: slot never became FREE",
          (unsigned long long)seq);
    return seq;
}

/* Claims, fills and publishes a primitive call; returns its seq. */
static uint64_t submit(ring *r, int32_t opid, int64_t a0, int64_t a1, uint64_t extra_flags)
{
    uint64_t seq = claim(r);
    ring_req q = { .op = opid, .arg0 = a0, .arg1 = a1 };
    CHECK(ring_fill(r, seq, &q) == RING_OK, "fill");
    ring_publish(r, seq, extra_flags);
    return seq;
}

static void take_ok(ring *r, uint64_t seq, ring_res *res, const char *what)
{
    CHECK(ring_wait_done(r, seq, ring_now_ns() + r->hang_ns) == RING_OK, "%s: seq %llu never completed", what,
          (unsigned long long)seq);
    ring_take(r, seq, res);
    CHECK(res->err == 0, "%s failed: err %d %s", what, res->err, res->out ? res->out : "");
}

/* Bounded polling until the slot of seq reads exactly `want`. */
static void await_state(ring *r, uint64_t seq, uint64_t want, int64_t timeout_ns, const char *what)
{
    int64_t deadline = ring_now_ns() + timeout_ns;
    uint32_t spins = 0;
    uint64_t st;
    while ((st = atomic_load_explicit(&ring_slot(r, seq)->state, memory_order_acquire)) != want)
        CHECK(ring_backoff(&spins, deadline), "%s: slot of seq %llu reads %#llx, expected %#llx", what,
              (unsigned long long)seq, (unsigned long long)st, (unsigned long long)want);
}

/* Bounded polling until the engine has finished the given-up call seq on its cell: DONE(seq) | GONE. */
static void await_gone_done(ring *r, uint64_t seq, int64_t timeout_ns, const char *what)
{
    int64_t deadline = ring_now_ns() + timeout_ns;
    uint32_t spins = 0;
    uint64_t want = (seq << FERRY_SEQ_SHIFT) | FERRY_FLAG_GONE | FERRY_PHASE_DONE, st;
    while (((st = ring_cell_state(r, seq)) & ~FERRY_FLAG_PARKED) != want)
        CHECK(ring_backoff(&spins, deadline), "%s: cell of seq %llu reads %#llx, expected %#llx", what,
              (unsigned long long)seq, (unsigned long long)st, (unsigned long long)want);
}

/* Bounded polling until the engine has started seq (stats.started > seq). */
static void await_started(ring *r, uint64_t seq, const char *what)
{
    CHECK(ring_await_started(r, seq, ring_now_ns() + r->hang_ns) == RING_OK,
          "%s: the engine never started seq %llu (stats.started %llu, slot state %#llx)", what,
          (unsigned long long)seq, (unsigned long long)ring_started(r),
          (unsigned long long)atomic_load(&ring_slot(r, seq)->state));
}

static void add_calls(ring *r, int n, const char *what)
{
    int32_t op_add = op(r, "add");
    for (int i = 0; i < n; i++) {
        ring_res res;
        CHECK(ring_call2(r, op_add, i, 1000000, &res) == RING_OK, "%s: add call %d hung", what, i);
        CHECK(res.err == 0 && res.result == i + 1000000, "%s: add call %d: err %d result %lld", what, i, res.err,
              (long long)res.result);
    }
}

/* ---- the wake callback -------------------------------------------------------------------------- */

#define MAX_WAKES 256
static _Atomic int hello_count;
static _Atomic int hello_name_ok;
static _Atomic long slot_wakes;
static _Atomic uint32_t wakes[MAX_WAKES];
static _Atomic int wrong_thread;
static pthread_t engine_thread;

static void wake_cb(uint32_t index)
{
    if (index == FERRY_WAKE_HELLO) {
        char name[32] = "";
        pthread_getname_np(pthread_self(), name, sizeof name);
        atomic_store(&hello_name_ok, strcmp(name, "ferry-engine") == 0);
        engine_thread = pthread_self();
        atomic_fetch_add(&hello_count, 1);
        return;
    }
    if (atomic_load(&hello_count) == 0 || !pthread_equal(pthread_self(), engine_thread))
        atomic_fetch_add(&wrong_thread, 1);
    long n = atomic_load(&slot_wakes);
    if (n < MAX_WAKES)
        atomic_store(&wakes[n], index);
    atomic_fetch_add(&slot_wakes, 1); /* after the index: a reader that sees n + 1 sees wakes[n] */
}

static void reset_wakes(void)
{
    atomic_store(&hello_count, 0);
    atomic_store(&hello_name_ok, 0);
    atomic_store(&slot_wakes, 0);
    atomic_store(&wrong_thread, 0);
}

static void await_wakes(long n, const char *what)
{
    int64_t deadline = ring_now_ns() + ft_hang_ns();
    uint32_t spins = 0;
    while (atomic_load(&slot_wakes) < n)
        CHECK(ring_backoff(&spins, deadline), "%s: %ld wake calls, expected %ld", what, atomic_load(&slot_wakes), n);
}

/* ---- stop while producers are mid-flight -------------------------------------------------------- */

typedef struct stop_shared {
    ring r;
    int32_t op_add;
    _Atomic int go;
    _Atomic long done;        /* calls completed so far, all producers */
} stop_shared;

typedef struct stop_producer {
    stop_shared *sh;
    int id;
    bool use_try;
    pthread_t thread;
    long accepted;
    uint64_t max_accepted;    /* highest seq this producer was given, +1 (0: none) */
    uint64_t min_rejected;    /* lowest sequence a rejected claim returned */
} stop_producer;

static void *stop_producer_main(void *arg)
{
    stop_producer *p = arg;
    ring *r = &p->sh->r;
    while (!atomic_load_explicit(&p->sh->go, memory_order_acquire))
        sched_yield();
    p->min_rejected = UINT64_MAX;
    for (long i = 0;; i++) {
        uint64_t seq = 0;
        if (p->use_try) {
            int rc;
            int64_t deadline = ring_now_ns() + r->hang_ns;
            uint32_t spins = 0;
            while ((rc = ring_try_claim(r, &seq)) == RING_FULL)
                CHECK(ring_backoff(&spins, deadline), "producer %d: try-claim found the ring full too long", p->id);
            if (rc == RING_CLOSED) {
                p->min_rejected = atomic_load(&r->region->tail.tail) & ~FERRY_TAIL_CLOSED;
                break;
            }
        } else {
            uint64_t t = atomic_fetch_add_explicit(&r->region->tail.tail, 1, memory_order_seq_cst);
            if (t & FERRY_TAIL_CLOSED) {
                p->min_rejected = t & ~FERRY_TAIL_CLOSED;
                break;
            }
            seq = t;
            CHECK(ring_wait_free(r, seq, ring_now_ns() + r->hang_ns) == RING_OK,
                  "producer %d: accepted seq %llu never got its slot", p->id, (unsigned long long)seq);
        }
        int64_t a = ((int64_t)p->id << 32) + i, b = (int64_t)seq;
        ring_req q = { .op = p->sh->op_add, .arg0 = a, .arg1 = b };
        CHECK(ring_fill(r, seq, &q) == RING_OK, "fill");
        ring_publish(r, seq, 0);
        CHECK(ring_wait_done(r, seq, ring_now_ns() + r->hang_ns) == RING_OK,
              "producer %d: accepted seq %llu never completed (stop dropped it?)", p->id, (unsigned long long)seq);
        ring_res res;
        ring_take(r, seq, &res);
        CHECK(res.err == 0 && res.result == a + b, "producer %d seq %llu: err %d, result %lld, expected %lld", p->id,
              (unsigned long long)seq, res.err, (long long)res.result, (long long)(a + b));
        ring_res_free(&res);
        p->accepted++;
        if (seq + 1 > p->max_accepted)
            p->max_accepted = seq + 1;
        atomic_fetch_add_explicit(&p->sh->done, 1, memory_order_relaxed);
    }
    /* Once closed, always closed: by either claim. */
    for (int k = 0; k < 3; k++) {
        uint64_t seq;
        CHECK(ring_claim(r, &seq) == RING_CLOSED, "producer %d: a claim after the stop was accepted", p->id);
        CHECK(ring_try_claim(r, &seq) == RING_CLOSED, "producer %d: a try-claim after the stop was accepted", p->id);
    }
    return NULL;
}

static void test_stop_mid_flight(const char *name, uint32_t capacity, int64_t idle_spin_ns, int nproducers)
{
    ft_test_name = name;
    int64_t t0 = ft_now_ns();
    static stop_shared sh;
    memset(&sh, 0, sizeof sh);
    start(&sh.r, capacity, idle_spin_ns, NULL);
    sh.op_add = op(&sh.r, "add");
    stop_producer ps[16];
    for (int i = 0; i < nproducers; i++) {
        ps[i] = (stop_producer){ .sh = &sh, .id = i + 1, .use_try = (i % 4 == 3) };
        CHECK(pthread_create(&ps[i].thread, NULL, stop_producer_main, &ps[i]) == 0, "pthread_create");
    }
    atomic_store_explicit(&sh.go, 1, memory_order_release);

    /* Let them get going, then stop while they are in the middle of it. */
    long want = ft_scaled(4000, 300);
    int64_t deadline = ring_now_ns() + ft_hang_ns();
    while (atomic_load_explicit(&sh.done, memory_order_relaxed) < want) {
        CHECK(ring_now_ns() < deadline, "producers made only %ld calls", atomic_load(&sh.done));
        sched_yield();
    }
    uint64_t closed = ferry_engine_stop(sh.r.engine);
    CHECK(ferry_engine_stop(sh.r.engine) == closed, "a second stop returned another stop point");
    for (int i = 0; i < nproducers; i++)
        pthread_join(ps[i].thread, NULL);

    long accepted = 0;
    for (int i = 0; i < nproducers; i++) {
        accepted += ps[i].accepted;
        CHECK(ps[i].max_accepted <= closed, "producer %d was given seq %llu at or past the stop point %llu", ps[i].id,
              (unsigned long long)(ps[i].max_accepted - 1), (unsigned long long)closed);
        CHECK(ps[i].min_rejected >= closed, "producer %d was rejected at seq %llu, before the stop point %llu",
              ps[i].id, (unsigned long long)ps[i].min_rejected, (unsigned long long)closed);
    }
    /* Every sequence below the stop point was claimed by someone and completed with its own result. */
    CHECK((uint64_t)accepted == closed, "%ld calls completed, but the stop point is %llu", accepted,
          (unsigned long long)closed);
    int rc = ferry_engine_join(sh.r.engine, ft_hang_ns());
    CHECK(rc == 0, "the engine did not stop: %d", rc);
    CHECK(atomic_load(&sh.r.region->stats.head) == closed, "engine head %llu, stop point %llu",
          (unsigned long long)atomic_load(&sh.r.region->stats.head), (unsigned long long)closed);
    CHECK(atomic_load(&sh.r.region->stats.completed) == closed, "engine completed %llu, stop point %llu",
          (unsigned long long)atomic_load(&sh.r.region->stats.completed), (unsigned long long)closed);
    check_slots_released(&sh.r, closed);
    ferry_engine_destroy(sh.r.engine);
    free(sh.r.region);
    ring_free_cells(&sh.r);
    ft_case_done(name, t0);
}

/* A claimed sequence is accepted even if its producer has not published yet: the engine waits for it. */
static void test_stop_waits_for_claimed(const char *name, int64_t idle_spin_ns)
{
    ft_test_name = name;
    int64_t t0 = ft_now_ns();
    ring r;
    start(&r, 4, idle_spin_ns, NULL);
    add_calls(&r, 5, "warm-up");
    uint64_t seq = claim(&r);
    CHECK(seq == 5, "claimed seq %llu, expected 5", (unsigned long long)seq);
    uint64_t closed = ferry_engine_stop(r.engine);
    CHECK(closed == seq + 1, "stop point %llu, expected %llu", (unsigned long long)closed, (unsigned long long)(seq + 1));
    uint64_t rejected;
    CHECK(ring_claim(&r, &rejected) == RING_CLOSED, "claim after stop accepted");
    /* The engine must report DRAINING and must not finish while seq is outstanding. */
    int64_t deadline = ring_now_ns() + ft_hang_ns();
    while (atomic_load(&r.region->engine.state) != FERRY_ENGINE_DRAINING) {
        CHECK(ring_now_ns() < deadline, "engine state %u, expected DRAINING", atomic_load(&r.region->engine.state));
        sched_yield();
    }
    CHECK(ferry_engine_join(r.engine, 50 * FT_MS) == FERRY_E_TIMEDOUT,
          "the engine stopped while an accepted call was not yet published");
    ring_req q = { .op = op(&r, "add"), .arg0 = 40, .arg1 = 2 };
    CHECK(ring_fill(&r, seq, &q) == RING_OK, "fill");
    ring_publish(&r, seq, 0);
    ring_res res;
    take_ok(&r, seq, &res, "the call claimed before stop");
    CHECK_EQ_I64(res.result, 42, "add result");
    finish(&r);
    ft_case_done(name, t0);
}

static void test_stop_sleeping_engine(void)
{
    ft_test_name = "stop_sleeping_engine";
    int64_t t0 = ft_now_ns();
    ring r;
    start(&r, 8, 0, NULL);
    add_calls(&r, 3, "before sleep");
    int64_t deadline = ring_now_ns() + ft_hang_ns();
    while (atomic_load(&r.region->engine.sleeping) == 0) {
        CHECK(ring_now_ns() < deadline, "an idle engine with idle_spin_ns = 0 never slept");
        sched_yield();
    }
    finish(&r);
    ft_case_done(ft_test_name, t0);
}

/* ---- GONE ---------------------------------------------------------------------------------------- */

#define SENTINEL INT64_C(0x5eed5eed5eed)
#define MAX_ATTEMPTS 10

/* Publishes `q` behind a running spin of spin_ns, gives it up (CAS GONE) after 10 ms, long before the
 * spin ends, and checks that the caller is told "skipped" (stats.started <= seq right after the CAS) and
 * that the engine skips it: the slot goes to FREE(seq + capacity) with no result written into it.
 * Returns false when the attempt proved nothing because this thread was descheduled for longer than the
 * spin (the call then completed or started, and has been cleaned up); the caller retries. */
static bool skip_behind_spin(ring *r, const ring_req *q, int64_t spin_ns)
{
    uint64_t spin = submit(r, op(r, "spin"), spin_ns, 0, 0);
    await_started(r, spin, "spin call");

    uint64_t seq = claim(r);
    CHECK(ring_fill(r, seq, q) == RING_OK, "fill");
    ferry_cell *s = ring_cell(r, seq);
    s->result = SENTINEL; /* the engine writes these only for a call it runs */
    s->err = 1234;
    s->out_kind = 77;
    s->out_ptr = 0;
    uint64_t completed_before = atomic_load(&r->region->stats.completed);
    ring_publish(r, seq, 0);

    ring_res res;
    uint64_t old = 0;
    bool gave_up = ring_wait_done(r, seq, ring_now_ns() + 10 * FT_MS) != RING_OK &&
                   ring_set_flag_old(r, seq, FERRY_FLAG_GONE, &old);
    bool queued = gave_up && ring_give_up_queued(r, seq);
    /* Right after the seq_cst CAS on the slot: the caller's half of the Dekker pair with the engine's
     * start. */
    uint64_t started = gave_up ? ring_started(r) : 0;
    if (!gave_up) {
        /* DONE already: only possible once the spin ended, i.e. we slept through all of it. */
        take_ok(r, spin, &res, "spin");
        CHECK(res.result >= spin_ns, "the call behind a spin completed after a spin of only %lld ns",
              (long long)res.result);
        ring_take(r, seq, &res);
        ring_res_free(&res);
        return false;
    }
    /* From here on the call is the engine's; we only watch its cell's state word. */
    CHECK((old >> FERRY_SEQ_SHIFT) != seq || (old & FERRY_FLAG_GONE) == 0,
          "GONE replaced cell state %#llx, which was given up already", (unsigned long long)old);
    CHECK(seq == spin + 1 && (started == seq || started == seq + 1),
          "stats.started %llu while seq %llu is given up behind the spin, seq %llu", (unsigned long long)started,
          (unsigned long long)seq, (unsigned long long)spin);
    take_ok(r, spin, &res, "spin");
    CHECK(res.result >= spin_ns, "spin ran %lld ns, asked for %lld", (long long)res.result, (long long)spin_ns);
    await_gone_done(r, seq, ft_hang_ns(), "the abandoned call's cell");
    int64_t deadline = ring_now_ns() + ft_hang_ns();
    while (atomic_load(&r->region->stats.completed) < completed_before + 2) {
        CHECK(ring_now_ns() < deadline, "engine completed %llu calls, expected %llu",
              (unsigned long long)atomic_load(&r->region->stats.completed),
              (unsigned long long)(completed_before + 2));
        sched_yield();
    }
    if (!queued || started > seq) {
        /* Told "may be running": the engine had started it, so the spin was over and we slept through
         * it. A legal give-up too; the engine finished it on the cell above. */
        CHECK(started == seq + 1, "stats.started %llu right after giving up seq %llu, the last call",
              (unsigned long long)started, (unsigned long long)seq);
        return false;
    }
    /* Told "skipped" (started <= seq). The engine skipped the call without writing its outcome. */
    CHECK(ring_started(r) == seq + 1, "stats.started %llu after the engine skipped seq %llu",
          (unsigned long long)ring_started(r), (unsigned long long)seq);
    CHECK(s->result == SENTINEL && s->err == 1234 && s->out_kind == 77 && s->out_ptr == 0,
          "the engine wrote a result for a call given up before it started: result %lld err %d kind %u",
          (long long)s->result, s->err, s->out_kind);
    return true;
}

static void test_gone_skip_noop(void)
{
    ft_test_name = "gone_skip_noop";
    int64_t t0 = ft_now_ns();
    reset_wakes();
    ring r;
    start(&r, 4, 1000000, wake_cb);
    int attempt = 0;
    ring_req noop = { .op = op(&r, "noop") };
    while (!skip_behind_spin(&r, &noop, 200 * FT_MS))
        CHECK(++attempt < MAX_ATTEMPTS, "this thread never ran within 200 ms of a spin starting (%d tries)", attempt);
    add_calls(&r, 3 * (int)r.capacity, "after the skip"); /* the freed slot serves its next laps */

    /* The same with an op whose effect shows: a skipped order(p, 1) must leave producer p at 0. */
    int32_t op_order = op(&r, "order");
    for (int p = 100;; p++) {
        ring_req oq = { .op = op_order, .arg0 = p, .arg1 = 1 };
        bool skipped = skip_behind_spin(&r, &oq, 100 * FT_MS);
        ring_res res;
        CHECK(ring_call2(&r, op_order, p, skipped ? 1 : 2, &res) == RING_OK, "order(%d) hung", p);
        CHECK(res.err == 0, "%s: err %d %s", skipped ? "the engine ran a skipped order call" : "order", res.err,
              res.out ? res.out : "");
        ring_res_free(&res);
        if (skipped)
            break;
        CHECK(p - 100 < MAX_ATTEMPTS, "this thread never ran within 100 ms of a spin starting");
    }
    finish(&r);
    CHECK(atomic_load(&slot_wakes) == 0, "wake callback called %ld times; nobody parked",
          atomic_load(&slot_wakes));
    ft_case_done(ft_test_name, t0);
}

/* A timed call (ring_call_timed) with input bytes times out behind a spin: it is told "skipped", and
 * the engine frees the input of the skipped call (ASan's leak check) and its slot. */
static void test_gone_skip_input(void)
{
    ft_test_name = "gone_skip_input";
    int64_t t0 = ft_now_ns();
    ring r;
    start(&r, 2, 1000000, NULL);
    int32_t op_spin = op(&r, "spin"), op_echo = op(&r, "echo_bytes");
    int skipped = 0;
    for (int attempt = 0; skipped < 2; attempt++) {
        CHECK(attempt < 2 + MAX_ATTEMPTS, "this thread never ran within 100 ms of a spin starting");
        uint64_t spin = submit(&r, op_spin, 100 * FT_MS, 0, 0);
        await_started(&r, spin, "spin call");
        char in[1000];
        memset(in, 'x', sizeof in);
        ring_req q = { .op = op_echo, .has_input = true, .in = in, .in_len = sizeof in };
        ring_res res, spun;
        uint64_t seq = 0;
        int how = 0;
        int rc = ring_call_timed_seq(&r, &q, &res, 10 * FT_MS, &seq, &how);
        take_ok(&r, spin, &spun, "spin");
        if (rc == RING_OK) { /* only if this thread slept through the spin */
            CHECK(spun.result >= 100 * FT_MS, "the echo behind a spin completed after %lld ns", (long long)spun.result);
            CHECK(res.err == 0 && res.out_len == sizeof in, "echo failed");
            ring_res_free(&res);
            continue;
        }
        CHECK(rc == RING_TIMEDOUT, "timed call returned %d", rc);
        if (how == RING_GAVE_UP_MAYBE_RAN) {
            /* The engine had started the echo when we gave up: the spin was over, we slept through it. */
            CHECK(spun.result >= 100 * FT_MS, "a call behind a spin started after %lld ns", (long long)spun.result);
            await_gone_done(&r, seq, ft_hang_ns(), "the abandoned echo's cell");
            continue;
        }
        CHECK(how == RING_GAVE_UP_SKIPPED, "a timed-out call was told %d", how);
        skipped++;
        await_gone_done(&r, seq, ft_hang_ns(), "the skipped echo's cell");
    }
    add_calls(&r, 4, "after the skips");
    finish(&r); /* ASan's leak check: the engine freed the skipped calls' inputs */
    ft_case_done(ft_test_name, t0);
}

static void test_gone_running(void)
{
    ft_test_name = "gone_running";
    int64_t t0 = ft_now_ns();
    reset_wakes();
    ring r;
    start(&r, 4, 1000000, wake_cb);
    uint64_t seq = submit(&r, op(&r, "spin"), 60 * FT_SEC, 0, FERRY_FLAG_PARKED);
    await_started(&r, seq, "spin call");
    uint64_t old = 0;
    CHECK(ring_set_flag_old(&r, seq, FERRY_FLAG_GONE, &old), "a 60 s spin was DONE already");
    uint64_t started = ring_started(&r);
    /* The cell stays as the async caller armed it while the call runs; only stats.started, and the
     * slot the engine freed, tell the caller it may run. */
    CHECK(old == (ring_free_state(seq) | FERRY_FLAG_PARKED | FERRY_PHASE_PUBLISHED),
          "cell state %#llx, expected PUBLISHED(%llu) | PARKED", (unsigned long long)old, (unsigned long long)seq);
    CHECK(!ring_give_up_queued(&r, seq), "the running spin's slot still reads PUBLISHED");
    CHECK(started == seq + 1, "stats.started %llu while seq %llu runs: its caller would be told it was skipped",
          (unsigned long long)started, (unsigned long long)seq);
    /* The op sees ferry_call_cancelled and stops; the engine finishes it on the cell (and drops the output). */
    int64_t gone_at = ring_now_ns();
    await_gone_done(&r, seq, 10 * FT_SEC, "the cancelled spin's cell");
    CHECK(ring_now_ns() - gone_at < 10 * FT_SEC, "the spin did not stop early");
    add_calls(&r, 2 * (int)r.capacity, "after the cancelled spin");
    finish(&r);
    CHECK(atomic_load(&slot_wakes) == 0, "woke a caller that had left (%ld wakes)", atomic_load(&slot_wakes));
    ft_case_done(ft_test_name, t0);
}

/* GONE lands while an op that produces output runs: the engine must free the output it made (ASan's
 * leak check) and the slot. echo_bytes of 16 MB runs for milliseconds; retried until the flag lands
 * after the engine started the echo and before it was DONE (a call already DONE is simply taken). */
static void test_gone_running_output(void)
{
    ft_test_name = "gone_running_output";
    int64_t t0 = ft_now_ns();
    ring r;
    start(&r, 2, 1000000, NULL);
    int32_t op_echo = op(&r, "echo_bytes");
    size_t n = (size_t)16 << 20;
    char *in = malloc(n);
    CHECK(in != NULL, "malloc");
    memset(in, 'q', n);
    int landed = 0, attempts = 0;
    while (landed < 1) {
        CHECK(++attempts <= 100, "GONE never landed while a 16 MB echo ran (%d attempts)", attempts - 1);
        uint64_t seq = claim(&r);
        ring_req q = { .op = op_echo, .has_input = true, .in = in, .in_len = n };
        CHECK(ring_fill(&r, seq, &q) == RING_OK, "fill");
        ring_publish(&r, seq, 0);
        await_started(&r, seq, "the echo");
        /* 100 us more: the engine re-reads the state right after it stores stats.started; a GONE that
         * lands before that re-read makes it skip the echo, which would not test the output's free. */
        int64_t until = ring_now_ns() + 100000;
        while (ring_now_ns() < until)
            ring_relax();
        uint64_t old = 0;
        if (ring_set_flag_old(&r, seq, FERRY_FLAG_GONE, &old)) {
            CHECK((old >> FERRY_SEQ_SHIFT) != seq || (old & FERRY_FLAG_GONE) == 0,
                  "GONE replaced cell state %#llx, given up already", (unsigned long long)old);
            CHECK(ring_started(&r) == seq + 1, "stats.started %llu after the echo of seq %llu started",
                  (unsigned long long)ring_started(&r), (unsigned long long)seq);
            landed++;
            await_gone_done(&r, seq, ft_hang_ns(), "the abandoned echo's cell");
        } else {
            ring_res res;
            take_ok(&r, seq, &res, "echo");
            CHECK(res.out_len == n, "echo returned %llu bytes", (unsigned long long)res.out_len);
            ring_res_free(&res);
        }
    }
    free(in);
    add_calls(&r, 4, "after the abandoned echoes");
    finish(&r);
    ft_case_done(ft_test_name, t0);
}

typedef struct race_producer {
    ring *r;
    int id;
    long iters;
    pthread_t thread;
    long ok, timedout;
    long skipped, maybe_ran;          /* what the timed-out calls were told */
    long counter_ok, counter_maybe;   /* counter(1) calls: completed / told "may have run" */
    long counter_skipped;             /* counter(1) calls told "skipped" */
} race_producer;

static void *race_main(void *arg)
{
    race_producer *p = arg;
    ring *r = p->r;
    int32_t op_spin = op(r, "spin"), op_add = op(r, "add"), op_echo = op(r, "echo_bytes"),
            op_counter = op(r, "counter");
    uint64_t rng = 0x9e3779b97f4a7c15ull * (uint64_t)(p->id + 1);
    for (long i = 0; i < p->iters; i++) {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        int64_t timeout = (int64_t)(rng % 60000); /* 0..60 us */
        ring_res res;
        int rc, how = 0;
        int kind = (int)(rng >> 40) % 5;
        int64_t a = i, b = p->id, spin_ns = (int64_t)((rng >> 20) % 80000);
        char in[24];
        snprintf(in, sizeof in, "p%d-%ld", p->id, i);
        if (kind == 0) {
            ring_req q = { .op = op_spin, .arg0 = spin_ns };
            rc = ring_call_timed_seq(r, &q, &res, timeout, NULL, &how);
        } else if (kind == 1) {
            ring_req q = { .op = op_echo, .has_input = true, .in = in, .in_len = strlen(in) };
            rc = ring_call_timed_seq(r, &q, &res, timeout, NULL, &how);
        } else if (kind == 2) {
            ring_req q = { .op = op_add, .arg0 = a, .arg1 = b };
            rc = ring_call_timed_seq(r, &q, &res, timeout / 16, NULL, &how);
        } else if (kind == 3) {
            ring_req q = { .op = op_add, .arg0 = a, .arg1 = b };
            rc = ring_call_timed(r, &q, &res, -1); /* no timeout */
        } else {
            /* counter(1): its effect shows whether a call ran, so a call told "skipped" that ran anyway
             * is caught by the count in test_gone_race. */
            ring_req q = { .op = op_counter, .arg0 = 1 };
            rc = ring_call_timed_seq(r, &q, &res, timeout, NULL, &how);
        }
        if (rc == RING_TIMEDOUT) {
            p->timedout++;
            CHECK(how == RING_GAVE_UP_SKIPPED || how == RING_GAVE_UP_MAYBE_RAN, "producer %d: gave up with %d", p->id,
                  how);
            if (how == RING_GAVE_UP_SKIPPED)
                p->skipped++;
            else
                p->maybe_ran++;
            if (kind == 4 && how == RING_GAVE_UP_MAYBE_RAN)
                p->counter_maybe++;
            else if (kind == 4)
                p->counter_skipped++;
            continue;
        }
        CHECK(rc == RING_OK, "producer %d: timed call returned %d", p->id, rc);
        CHECK(res.err == 0, "producer %d: call failed: %d %s", p->id, res.err, res.out ? res.out : "");
        if (kind == 0)
            CHECK(res.result >= spin_ns, "producer %d: a spin nobody cancelled ran %lld of %lld ns", p->id,
                  (long long)res.result, (long long)spin_ns);
        else if (kind == 1)
            CHECK(res.out_len == strlen(in) && memcmp(res.out, in, res.out_len) == 0,
                  "producer %d: echo returned '%s', sent '%s'", p->id, res.out ? res.out : "(null)", in);
        else if (kind == 4)
            p->counter_ok++;
        else
            CHECK(res.result == a + b, "producer %d: add returned %lld", p->id, (long long)res.result);
        ring_res_free(&res);
        p->ok++;
    }
    return NULL;
}

static void test_gone_race(void)
{
    ft_test_name = "gone_race";
    int64_t t0 = ft_now_ns();
    reset_wakes();
    static ring r;
    start(&r, 8, 20000, wake_cb);
    race_producer ps[4];
    long iters = ft_scaled(3000, 200);
    for (int i = 0; i < 4; i++) {
        ps[i] = (race_producer){ .r = &r, .id = i, .iters = iters };
        CHECK(pthread_create(&ps[i].thread, NULL, race_main, &ps[i]) == 0, "pthread_create");
    }
    long ok = 0, timedout = 0, skipped = 0, maybe_ran = 0, counter_ok = 0, counter_maybe = 0, counter_skipped = 0;
    for (int i = 0; i < 4; i++) {
        pthread_join(ps[i].thread, NULL);
        ok += ps[i].ok;
        timedout += ps[i].timedout;
        skipped += ps[i].skipped;
        maybe_ran += ps[i].maybe_ran;
        counter_ok += ps[i].counter_ok;
        counter_maybe += ps[i].counter_maybe;
        counter_skipped += ps[i].counter_skipped;
    }
    CHECK(ok > 0 && timedout > 0, "expected both completed and timed-out calls: %ld ok, %ld timed out", ok, timedout);
    const char *verbose = getenv("FERRY_TEST_VERBOSE");
    if (verbose && *verbose && *verbose != '0')
        fprintf(stderr,
                "  gone_race: %ld ok, %ld timed out (%ld skipped, %ld may have run); counter(1): %ld ok, %ld skipped, "
                "%ld may have run\n",
                ok, timedout, skipped, maybe_ran, counter_ok, counter_skipped, counter_maybe);
    /* The engine-wide counter counts the counter(1) calls that ran: every completed one, none told
     * "skipped", and some of those told "may have run". (How many were told "skipped" depends on the
     * machine's load: usually hundreds, under heavy load a few; gone_skip_noop checks a skip for sure.) */
    ring_res res;
    CHECK(ring_call2(&r, op(&r, "counter"), 0, 0, &res) == RING_OK && res.err == 0, "counter(0) failed");
    CHECK(res.result >= counter_ok && res.result <= counter_ok + counter_maybe,
          "counter(1) ran %lld times: %ld calls completed and %ld may have run (a call told skipped ran)",
          (long long)res.result, counter_ok, counter_maybe);
    finish(&r); /* every GONE slot released by the engine, nothing leaked (ASan) */
    CHECK(atomic_load(&slot_wakes) == 0, "wake callback called %ld times; nobody parked", atomic_load(&slot_wakes));
    ft_case_done(ft_test_name, t0);
}

/* ---- abort records ------------------------------------------------------------------------------ */

static void test_abort_record(void)
{
    ft_test_name = "abort_record";
    int64_t t0 = ft_now_ns();
    ring r;
    start(&r, 4, 0, NULL);
    int32_t op_order = op(&r, "order");
    ring_res res;
    int64_t n = 0;
    for (int round = 0; round < 6; round++) {
        CHECK(ring_call2(&r, op_order, 9, ++n, &res) == RING_OK, "order call hung");
        CHECK(res.err == 0, "order call %lld: %s", (long long)n, res.out ? res.out : "");
        ring_res_free(&res);
        /* An abort record: a claimed slot the producer could not fill, published as op ABORT + GONE.
         * Its args would break the order check if the engine ran it as an op. */
        uint64_t seq = claim(&r);
        ferry_slot *s = ring_slot(&r, seq);
        s->op = FERRY_OP_ABORT;
        s->flags = 0;
        s->arg0 = 9;
        s->arg1 = 1000;
        s->in_ptr = 0;
        s->in_len = 0;
        void *in = NULL;
        if (round & 1) { /* with input: an abort record carries none, so the producer keeps (and frees) it */
            in = ferry_alloc(100);
            CHECK(in != NULL, "ferry_alloc");
            memset(in, 1, 100);
            s->flags = FERRY_CALL_HAS_INPUT;
            s->in_ptr = (uint64_t)(uintptr_t)in;
            s->in_len = 100;
        }
        ferry_cell *c = ring_cell_for(&r, seq, true);
        s->cell = (uint64_t)(uintptr_t)c;
        c->result = SENTINEL;
        uint64_t cell_state = ring_cell_state(&r, seq);
        ring_publish(&r, seq, FERRY_FLAG_GONE);
        await_state(&r, seq, ring_free_state(seq + r.capacity), ft_hang_ns(), "the abort record's slot");
        CHECK(c->result == SENTINEL && ring_cell_state(&r, seq) == cell_state,
              "the engine wrote into an abort record's cell");
        ring_cell_release(&r, seq, false);
        ferry_free(in); /* a double free under ASan if the engine had freed it */
    }
    CHECK(ring_call2(&r, op_order, 9, ++n, &res) == RING_OK && res.err == 0,
          "order after the abort records failed: %s", res.out ? res.out : "");
    finish(&r);
    ft_case_done(ft_test_name, t0);
}

/* ---- wake callback ------------------------------------------------------------------------------ */

static void test_wake_callback(void)
{
    ft_test_name = "wake_callback";
    int64_t t0 = ft_now_ns();
    reset_wakes();
    ring r;
    start(&r, 8, 1000000, wake_cb);
    CHECK(atomic_load(&hello_count) == 1, "FERRY_WAKE_HELLO called %d times by the time start returned",
          atomic_load(&hello_count));
    CHECK(atomic_load(&hello_name_ok), "FERRY_WAKE_HELLO did not come from the thread named ferry-engine");
    add_calls(&r, 10, "unparked calls");
    CHECK(atomic_load(&slot_wakes) == 0, "wake callback called for calls nobody parked on");

    int32_t op_spin = op(&r, "spin"), op_add = op(&r, "add");
    long expect = 0;
    ring_res res;

    /* A sync caller that parks while its call runs (retried if this thread slept through the spin). */
    uint64_t seq;
    for (int attempt = 0;; attempt++) {
        CHECK(attempt < MAX_ATTEMPTS, "never managed to park within a 50 ms spin");
        seq = submit(&r, op_spin, 50 * FT_MS, 0, 0);
        if (ring_set_flag(&r, seq, FERRY_FLAG_PARKED))
            break;
        take_ok(&r, seq, &res, "spin");
        CHECK(atomic_load(&slot_wakes) == 0, "a wake for a call that was DONE before anyone parked");
    }
    await_wakes(++expect, "parked spin");
    CHECK(atomic_load(&wakes[expect - 1]) == ring_cell(&r, seq)->id, "woke %u, the call's cell is %u",
          atomic_load(&wakes[expect - 1]), ring_cell(&r, seq)->id);
    take_ok(&r, seq, &res, "parked spin");

    /* Async calls publish with their cell armed PARKED; laps around the ring, each woken by its cell's id. */
    for (int i = 0; i < 20; i++) {
        seq = submit(&r, op_add, 40, i, FERRY_FLAG_PARKED);
        await_wakes(++expect, "async add");
        CHECK(atomic_load(&wakes[expect - 1]) == ring_cell(&r, seq)->id, "async call %d: woke %u, expected cell %u",
              i, atomic_load(&wakes[expect - 1]), ring_cell(&r, seq)->id);
        take_ok(&r, seq, &res, "async add");
        CHECK_EQ_I64(res.result, 40 + i, "async add result");
    }

    /* PARKED can no longer be set once the call is DONE: then there is no wake. */
    seq = submit(&r, op_add, 1, 2, 0);
    CHECK(ring_wait_done(&r, seq, ring_now_ns() + r.hang_ns) == RING_OK, "add never completed");
    CHECK(!ring_set_flag(&r, seq, FERRY_FLAG_PARKED), "set PARKED on a DONE call");
    ring_take(&r, seq, &res);

    finish(&r); /* join: every wake call happened before this */
    CHECK(atomic_load(&hello_count) == 1, "FERRY_WAKE_HELLO called %d times", atomic_load(&hello_count));
    CHECK(atomic_load(&slot_wakes) == expect, "%ld wake calls, expected %ld", atomic_load(&slot_wakes), expect);
    CHECK(atomic_load(&wrong_thread) == 0, "%d wake calls came from another thread than the engine's",
          atomic_load(&wrong_thread));
    ft_case_done(ft_test_name, t0);
}

static void test_wake_hello_failed_start(void)
{
    ft_test_name = "wake_hello_failed_start";
    int64_t t0 = ft_now_ns();
    reset_wakes();
    ring r;
    char err[512] = "";
    int rc = ring_start(&r, 4, 0, "/nonexistent/ferry/libnothing.so", NULL, wake_cb, err, sizeof err);
    CHECK(rc == FERRY_E_LOAD, "start with a missing plugin returned %d (%s)", rc, err);
    CHECK(atomic_load(&hello_count) == 1, "FERRY_WAKE_HELLO called %d times for a failed start",
          atomic_load(&hello_count));
    CHECK(atomic_load(&slot_wakes) == 0, "slot wake during a failed start");
    ft_case_done(ft_test_name, t0);
}

/* ---- join timeout ------------------------------------------------------------------------------- */

/* One attempt; false when it proved nothing because this thread was descheduled for the whole spin. */
static bool join_timeout_attempt(void)
{
    const int64_t spin_ns = 300 * FT_MS;
    ring r;
    start(&r, 4, 1000000, NULL);
    uint64_t seq = submit(&r, op(&r, "spin"), spin_ns, 0, 0);
    await_started(&r, seq, "spin call");
    int64_t running_at = ring_now_ns(); /* the spin ends no sooner than spin_ns after this */
    CHECK(ferry_engine_cpu_ns(r.engine) >= 0, "ferry_engine_cpu_ns of a running engine");
    uint64_t closed = ferry_engine_stop(r.engine);
    CHECK(closed == seq + 1, "stop point %llu, expected %llu", (unsigned long long)closed, (unsigned long long)(seq + 1));
    int64_t before = ring_now_ns();
    int rc = ferry_engine_join(r.engine, 20 * FT_MS);
    int64_t after = ring_now_ns();
    int rc0 = ferry_engine_join(r.engine, 0);
    int64_t after0 = ring_now_ns();
    bool conclusive = after0 - running_at < spin_ns;
    if (conclusive) {
        CHECK(rc == FERRY_E_TIMEDOUT, "join during a running op returned %d after %lld ms", rc,
              (long long)((after - before) / FT_MS));
        CHECK(after - before >= 15 * FT_MS, "join(20 ms) gave up after only %lld us", (long long)((after - before) / 1000));
        CHECK(rc0 == FERRY_E_TIMEDOUT, "join(0) during a running op returned %d", rc0);
    } else {
        CHECK(rc == 0 || rc == FERRY_E_TIMEDOUT, "join(20 ms) returned %d", rc);
        CHECK(rc0 == 0 || rc0 == FERRY_E_TIMEDOUT, "join(0) returned %d", rc0);
    }
    ring_res res;
    take_ok(&r, seq, &res, "spin");
    CHECK(res.result >= spin_ns, "spin ran %lld ns", (long long)res.result);
    rc = ferry_engine_join(r.engine, ft_hang_ns());
    CHECK(rc == 0, "join after the op returned %d", rc);
    CHECK(ferry_engine_join(r.engine, 0) == 0, "a second join failed");
    CHECK(atomic_load(&r.region->engine.state) == FERRY_ENGINE_STOPPED, "state %u after join",
          atomic_load(&r.region->engine.state));
    CHECK(ferry_engine_cpu_ns(r.engine) == -1, "ferry_engine_cpu_ns after join");
    CHECK(ferry_engine_stop(r.engine) == closed, "stop after join returned another stop point");
    check_slots_released(&r, closed);
    ferry_engine_destroy(r.engine);
    free(r.region);
    ring_free_cells(&r);
    return conclusive;
}

static void test_join_timeout(void)
{
    ft_test_name = "join_timeout";
    int64_t t0 = ft_now_ns();
    for (int attempt = 0; !join_timeout_attempt(); attempt++)
        CHECK(attempt + 1 < MAX_ATTEMPTS, "this thread never ran twice within a 300 ms spin");
    ft_case_done(ft_test_name, t0);
}

int main(void)
{
    int64_t t0 = ft_now_ns();
    test_stop_mid_flight("stop_mid_flight_cap8", 8, 20000, 8);
    test_stop_mid_flight("stop_mid_flight_cap1024", 1024, 20000, 8);
    test_stop_mid_flight("stop_mid_flight_sleepy", 4, 0, 6);
    test_stop_waits_for_claimed("stop_waits_for_claimed", 1000000);
    test_stop_waits_for_claimed("stop_waits_for_claimed_sleepy", 0);
    test_stop_sleeping_engine();
    test_gone_skip_noop();
    test_gone_skip_input();
    test_gone_running();
    test_gone_running_output();
    test_gone_race();
    test_abort_record();
    test_wake_callback();
    test_wake_hello_failed_start();
    test_join_timeout();
    printf("test_ring_lifecycle: 15 tests passed in %.2f s\n", (double)(ft_now_ns() - t0) / 1e9);
    return 0;
}
