/*
 * ring_client.h: a C producer for Ferry's ring that does exactly what the Java side does (ferry.h
 * documents the protocol), so the C tests can drive the engine through shared memory alone.
 *
 * Why a C producer at all: the C tests run the shipped engine under ASan/UBSan and TSan, which see only
 * C code, so the callers they race against the engine thread must be C too. It is a test client, not a
 * second implementation to trust: the producer that ships is io.ferry.internal.Ring, and the jcstress
 * suite (java/jcstress) checks its orderings against libferry's own engine step; this file follows the
 * same steps so that the sanitizers have both sides of every handshake to watch.
 *
 *   claim     atomic fetch_add on tail; a value with FERRY_TAIL_CLOSED set means intake stopped: reject
 *             (try-claim: a CAS that only takes seq when slot seq & mask already reads FREE(seq))
 *   wait      until the slot's state reads FREE(seq): the engine has taken the previous lap's call
 *   fill      op, flags, ctx, arg0, arg1, cell, in_ptr, in_len with plain stores (input from ferry_alloc;
 *             the engine owns and frees it from here on; the cell is the client's, one per seq modulo
 *             RING_CELLS)
 *   publish   seq_cst store of (seq << 8) | PUBLISHED; then, if engine.sleeping != 0, ferry_engine_wake
 *   wait      until the cell reads DONE(seq) (spin, then yield)
 *   take      read result, err, out_kind, out_ptr, out_len from the cell; copy the bytes out;
 *             ferry_free(out_ptr). Nothing to release: the engine freed the slot when it took the call.
 *
 * A timed caller that runs out of time CASes FERRY_FLAG_GONE onto its cell (seq_cst: a full fence), then
 * onto the slot if the call is still queued, and then reads stats.started (seq_cst): a slot GONE and
 * started <= seq means the engine will skip the call, anything else that the call may already be running
 * (ferry.h, "Starting a call"); if the call is already DONE it takes the result as usual.
 *
 * The Java side (io.ferry.internal.Ring) writes the slot state with a CAS that keeps a waiter's
 * FREE_WAKE; this client has no waiter that sets it, so a plain seq_cst store does the same here.
 *
 * Every wait here is bounded by a deadline: a protocol bug must fail a test, not hang it.
 */
#ifndef FERRY_RING_CLIENT_H
#define FERRY_RING_CLIENT_H

#include "ferry.h"

#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* Client status codes (positive, so they never collide with FERRY_E_*). */
#define RING_OK       0
#define RING_CLOSED   1 /* intake stopped: the claim was rejected */
#define RING_FULL     2 /* try-claim: the next slot is still in use */
#define RING_TIMEDOUT 3 /* a timed call gave up; the slot now belongs to the engine */
#define RING_HUNG     4 /* a wait passed its deadline: the protocol is stuck */
#define RING_NOMEM    5 /* ferry_alloc failed; an abort record was published in the claimed slot */

/* What a caller that gave up was told (ring_give_up_how, ring_call_timed_seq). */
#define RING_GAVE_UP_SKIPPED   1 /* stats.started <= seq after GONE: the engine will not run the call */
#define RING_GAVE_UP_MAYBE_RAN 2 /* stats.started > seq: it may be running or have run; result dropped */

/* Completion cells the client keeps: one per call in flight, found by its sequence (a table probed from
 * seq % RING_CELLS, under a lock: the client's own bookkeeping, which the engine never sees). A cell is
 * taken when its call is filled and given back when its outcome is taken, or, for a call given up, once
 * the engine's DONE shows on it (ferry.h, "Completion cell"). */
#define RING_CELLS 8192u
#define RING_CELL_FREE UINT64_MAX

typedef struct ring {
    ferry_region *region;
    ferry_engine *engine;
    uint32_t capacity;
    uint64_t mask;
    int64_t hang_ns; /* the longest any single wait may take */
    ferry_cell *cells; /* RING_CELLS cells, FERRY_CELL_SIZE aligned */
    uint64_t *cell_seq; /* the seq each cell serves, or RING_CELL_FREE */
    bool *cell_gone;    /* the call was given up: the cell is free again once it reads DONE(seq) */
    pthread_mutex_t cell_lock;
} ring;

typedef struct ring_req {
    int32_t op;
    uint32_t flags;     /* FERRY_CALL_* beyond HAS_INPUT, which has_input sets */
    uint64_t ctx;
    int64_t arg0, arg1;
    bool has_input;
    const void *in;     /* copied into a ferry_alloc buffer at fill time */
    size_t in_len;
    ferry_batch_item *items; /* with flags FERRY_CALL_BATCH: the items, owned by the caller */
    uint64_t n_items;
} ring_req;

typedef struct ring_res {
    int64_t result;
    int32_t err;
    uint32_t out_kind;
    uint64_t out_len;
    char *out;          /* malloc'd copy of out_len bytes plus a NUL, or NULL; free() it */
    uint64_t err_out_len; /* FERRY_OUT_ERROR: output bytes the op wrote before it failed */
    char *err_out;      /* malloc'd copy of them, or NULL; ring_res_free frees it */
} ring_res;

static inline int64_t ring_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void ring_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

/* Spin-then-yield backoff; returns false once the deadline passed. */
static inline bool ring_backoff(uint32_t *spins, int64_t deadline)
{
    uint32_t n = ++*spins;
    if (n < 64) {
        ring_relax();
        return true;
    }
    sched_yield();
    if ((n & 15) == 0 && ring_now_ns() > deadline)
        return false;
    return true;
}

static inline ferry_slot *ring_slot(const ring *r, uint64_t seq)
{
    return &r->region->slots[seq & r->mask];
}

static inline bool ring_cell_reclaimable(const ring *r, uint32_t i)
{
    uint64_t st = atomic_load_explicit(&r->cells[i].state, memory_order_acquire);
    return r->cell_gone[i] && (st >> FERRY_SEQ_SHIFT) == r->cell_seq[i] && (st & FERRY_PHASE_MASK) == FERRY_PHASE_DONE;
}

/* The completion cell of the call seq: the one it holds, or (at fill) a free one it takes. */
static inline ferry_cell *ring_cell_for(ring *r, uint64_t seq, bool take)
{
    pthread_mutex_lock(&r->cell_lock);
    uint32_t i = (uint32_t)(seq & (RING_CELLS - 1));
    for (uint32_t n = 0; n < RING_CELLS; n++, i = (i + 1) & (RING_CELLS - 1)) {
        if (r->cell_seq[i] == seq)
            break;
        if (take && (r->cell_seq[i] == RING_CELL_FREE || ring_cell_reclaimable(r, i))) {
            r->cell_seq[i] = seq;
            r->cell_gone[i] = false;
            break;
        }
    }
    bool found = r->cell_seq[i] == seq;
    pthread_mutex_unlock(&r->cell_lock);
    if (!found) {
        fprintf(stderr, "ring_client: no cell for seq %llu\n", (unsigned long long)seq);
        abort();
    }
    return &r->cells[i];
}

static inline ferry_cell *ring_cell(ring *r, uint64_t seq)
{
    return ring_cell_for(r, seq, false);
}

/* Gives the cell of seq back (its outcome was taken), or marks it given up (free once DONE shows). */
static inline void ring_cell_release(ring *r, uint64_t seq, bool gone)
{
    ferry_cell *c = ring_cell(r, seq);
    uint32_t i = (uint32_t)(c - r->cells);
    pthread_mutex_lock(&r->cell_lock);
    if (gone)
        r->cell_gone[i] = true;
    else
        r->cell_seq[i] = RING_CELL_FREE;
    pthread_mutex_unlock(&r->cell_lock);
}

static inline uint64_t ring_free_state(uint64_t seq)
{
    return seq << FERRY_SEQ_SHIFT;
}

static inline uint64_t ring_phase(uint64_t state)
{
    return state & FERRY_PHASE_MASK;
}

/* ---- lifecycle ---------------------------------------------------------------------------------- */

/* Allocates the client's completion cells (zeroed: a state that is no call's; numbered). */
static inline int ring_alloc_cells(ring *r)
{
    r->cells = aligned_alloc(FERRY_CELL_SIZE, RING_CELLS * sizeof(ferry_cell));
    r->cell_seq = malloc(RING_CELLS * sizeof(uint64_t));
    r->cell_gone = calloc(RING_CELLS, sizeof(bool));
    if (!r->cells || !r->cell_seq || !r->cell_gone)
        return FERRY_E_NOMEM;
    memset(r->cells, 0, RING_CELLS * sizeof(ferry_cell));
    for (uint32_t i = 0; i < RING_CELLS; i++) {
        r->cells[i].id = i;
        r->cell_seq[i] = RING_CELL_FREE;
    }
    pthread_mutex_init(&r->cell_lock, NULL);
    return 0;
}

static inline void ring_free_cells(ring *r)
{
    free(r->cells);
    free(r->cell_seq);
    free(r->cell_gone);
    r->cells = NULL;
    r->cell_seq = NULL;
    r->cell_gone = NULL;
}

/* Allocates a region and starts an engine on it. Returns ferry_engine_start's code; on failure the
 * region is freed and err holds the message. */
static inline int ring_start(ring *r, uint32_t capacity, int64_t idle_spin_ns, const char *plugin,
                             const char *symbol, ferry_wake_fn wake, char *err, size_t errlen)
{
    memset(r, 0, sizeof(*r));
    uint64_t size = ferry_region_size(capacity);
    if (size == 0) {
        snprintf(err, errlen, "bad capacity %u", capacity);
        return FERRY_E_INVALID;
    }
    void *mem = aligned_alloc(FERRY_BLOCK, (size_t)size);
    if (!mem || ring_alloc_cells(r) != 0) {
        free(mem);
        snprintf(err, errlen, "out of memory");
        return FERRY_E_NOMEM;
    }
    int rc = ferry_engine_start(mem, capacity, idle_spin_ns, plugin, symbol, NULL, wake, &r->engine, err, errlen);
    if (rc != 0) {
        free(mem);
        ring_free_cells(r);
        r->engine = NULL;
        return rc;
    }
    r->region = mem;
    r->capacity = capacity;
    r->mask = capacity - 1;
    r->hang_ns = INT64_C(20000000000);
    return 0;
}

/* Stops intake and joins (bounded by timeout_ns). Returns ferry_engine_join's code; on 0 the engine and
 * the region are freed. */
static inline int ring_stop(ring *r, int64_t timeout_ns)
{
    ferry_engine_stop(r->engine);
    int rc = ferry_engine_join(r->engine, timeout_ns);
    if (rc != 0)
        return rc;
    ferry_engine_destroy(r->engine);
    free(r->region);
    ring_free_cells(r);
    r->engine = NULL;
    r->region = NULL;
    return 0;
}

static inline int32_t ring_op(const ring *r, const char *name)
{
    return ferry_op_lookup(r->engine, name, NULL);
}

/* ---- the protocol, step by step ----------------------------------------------------------------- */

/* Claims the next sequence. RING_OK or RING_CLOSED. */
static inline int ring_claim(ring *r, uint64_t *seq)
{
    uint64_t t = atomic_fetch_add_explicit(&r->region->tail.tail, 1, memory_order_seq_cst);
    if (t & FERRY_TAIL_CLOSED)
        return RING_CLOSED;
    *seq = t;
    return RING_OK;
}

/* Claims the next sequence only if its slot is free right now (never waits for a slot). RING_OK,
 * RING_FULL or RING_CLOSED. */
static inline int ring_try_claim(ring *r, uint64_t *seq)
{
    _Atomic uint64_t *tail = &r->region->tail.tail;
    uint64_t t = atomic_load_explicit(tail, memory_order_acquire);
    for (;;) {
        if (t & FERRY_TAIL_CLOSED)
            return RING_CLOSED;
        uint64_t st = atomic_load_explicit(&ring_slot(r, t)->state, memory_order_acquire);
        if ((st & ~FERRY_FLAG_FREE_WAKE) != ring_free_state(t))
            return RING_FULL;
        /* Once ours, seq t's slot stays FREE(t): only the owner of t moves it on. */
        if (atomic_compare_exchange_weak_explicit(tail, &t, t + 1, memory_order_seq_cst, memory_order_acquire)) {
            *seq = t;
            return RING_OK;
        }
    }
}

/* Waits until the slot reads FREE(seq). RING_OK or RING_HUNG. */
static inline int ring_wait_free(ring *r, uint64_t seq, int64_t deadline)
{
    ferry_slot *s = ring_slot(r, seq);
    uint32_t spins = 0;
    /* Acquire: pairs with the release that freed the slot (the previous caller's, or the engine's for
     * a GONE call), so our plain stores below come after its reads. */
    while ((atomic_load_explicit(&s->state, memory_order_acquire) & ~FERRY_FLAG_FREE_WAKE) != ring_free_state(seq))
        if (!ring_backoff(&spins, deadline))
            return RING_HUNG;
    return RING_OK;
}

/* Writes the call into the slot with plain stores. Input bytes go to a ferry_alloc buffer the engine
 * owns from here on. Returns RING_OK, or FERRY_E_NOMEM (the slot then carries an abort record). */
static inline int ring_fill(ring *r, uint64_t seq, const ring_req *q)
{
    ferry_slot *s = ring_slot(r, seq);
    s->op = q->op;
    s->flags = q->flags & ~FERRY_CALL_HAS_INPUT;
    s->ctx = q->ctx ? q->ctx : FERRY_SYSTEM_CONTEXT; /* 0 in a request: the systemic context */
    s->arg0 = q->arg0;
    s->arg1 = q->arg1;
    s->cell = (uint64_t)(uintptr_t)ring_cell_for(r, seq, true);
    s->in_ptr = 0;
    s->in_len = 0;
    if (q->flags & FERRY_CALL_BATCH) {
        s->in_ptr = (uint64_t)(uintptr_t)q->items;
        s->in_len = q->n_items;
    }
    if (q->has_input) {
        void *buf = ferry_alloc(q->in_len);
        if (!buf) {
            s->op = FERRY_OP_ABORT;
            return FERRY_E_NOMEM;
        }
        if (q->in_len)
            memcpy(buf, q->in, q->in_len);
        s->flags |= FERRY_CALL_HAS_INPUT;
        s->in_ptr = (uint64_t)(uintptr_t)buf;
        s->in_len = q->in_len;
    }
    return RING_OK;
}

/* Publishes the filled slot. extra_flags: FERRY_FLAG_PARKED arms the cell for an async call (the engine
 * wakes it); FERRY_FLAG_GONE publishes the call given up already (the engine skips it). */
static inline void ring_publish(ring *r, uint64_t seq, uint64_t extra_flags)
{
    ferry_slot *s = ring_slot(r, seq);
    if (extra_flags & FERRY_FLAG_PARKED)
        atomic_store_explicit(&ring_cell(r, seq)->state,
                              (seq << FERRY_SEQ_SHIFT) | FERRY_FLAG_PARKED | FERRY_PHASE_PUBLISHED, memory_order_relaxed);
    /* seq_cst: the store half of the Dekker pair with the engine's sleep announcement (ferry.h). */
    atomic_store_explicit(&s->state, ring_free_state(seq) | (extra_flags & FERRY_FLAG_GONE) | FERRY_PHASE_PUBLISHED,
                          memory_order_seq_cst);
    if (atomic_load_explicit(&r->region->engine.sleeping, memory_order_seq_cst) != 0)
        ferry_engine_wake(r->engine);
}

/* The cell state of seq's call (acquire: pairs with the engine's DONE CAS). */
static inline uint64_t ring_cell_state(ring *r, uint64_t seq)
{
    return atomic_load_explicit(&ring_cell(r, seq)->state, memory_order_acquire);
}

/* Whether seq's call is DONE on its cell. */
static inline bool ring_done(ring *r, uint64_t seq)
{
    uint64_t st = ring_cell_state(r, seq);
    return (st >> FERRY_SEQ_SHIFT) == seq && ring_phase(st) == FERRY_PHASE_DONE;
}

/* Waits until the call is DONE, bounded by deadline. RING_OK or RING_HUNG (the call is still ours). */
static inline int ring_wait_done(ring *r, uint64_t seq, int64_t deadline)
{
    ferry_cell *c = ring_cell(r, seq);
    uint32_t spins = 0;
    for (;;) {
        uint64_t st = atomic_load_explicit(&c->state, memory_order_acquire);
        if ((st >> FERRY_SEQ_SHIFT) == seq && ring_phase(st) == FERRY_PHASE_DONE)
            return RING_OK;
        if (!ring_backoff(&spins, deadline))
            return RING_HUNG;
    }
}

/* Reads a DONE call's outcome out of its cell and frees its output. */
static inline void ring_take(ring *r, uint64_t seq, ring_res *res)
{
    ferry_cell *c = ring_cell(r, seq);
    res->result = c->result;
    res->err = c->err;
    res->out_kind = c->out_kind;
    res->out_len = res->out_kind != FERRY_OUT_NONE ? c->out_len : 0; /* out_len is stale without an output */
    res->out = NULL;
    res->err_out_len = res->out_kind == FERRY_OUT_ERROR ? c->err_out_len : 0;
    res->err_out = NULL;
    void *out = res->out_kind != FERRY_OUT_NONE ? (void *)(uintptr_t)c->out_ptr : NULL;
    if (out) {
        res->out = malloc((size_t)res->out_len + 1);
        if (res->out) {
            memcpy(res->out, out, (size_t)res->out_len);
            res->out[res->out_len] = '\0';
        }
        /* A failure's output follows its message's NUL in the same buffer (ferry.h, cell.err_out_len). */
        if (res->err_out_len && (res->err_out = malloc((size_t)res->err_out_len)) != NULL)
            memcpy(res->err_out, (const char *)out + res->out_len + 1, (size_t)res->err_out_len);
        ferry_free(out);
    }
    c->err = 0; /* the cell's invariant between calls (ferry.h, "Completion cell") */
    c->out_kind = FERRY_OUT_NONE;
    ring_cell_release(r, seq, false);
}

/* stats.started: seq + 1 of the last call the engine started. seq_cst: after a GONE CAS, the load half of
 * the caller's side of the Dekker pair with the engine's start (ferry.h, "Starting a call"). */
static inline uint64_t ring_started(const ring *r)
{
    return atomic_load_explicit(&r->region->stats.started, memory_order_seq_cst);
}

/* Waits until the engine has started seq (stats.started > seq; it may have finished it too). RING_OK or
 * RING_HUNG. */
static inline int ring_await_started(ring *r, uint64_t seq, int64_t deadline)
{
    uint32_t spins = 0;
    while (ring_started(r) <= seq)
        if (!ring_backoff(&spins, deadline))
            return RING_HUNG;
    return RING_OK;
}

/* Sets a flag (PARKED or GONE) for seq on its cell unless the call is DONE. Returns true if set;
 * false if the call was already DONE (it is still ours: take it). *old_state, if not NULL, receives the
 * cell state the CAS replaced (or the DONE state it found). A state for an earlier seq is the cell's
 * previous call's: the new state is seq's. seq_cst, as the Java side's CAS. */
static inline bool ring_set_flag_old(ring *r, uint64_t seq, uint64_t flag, uint64_t *old_state)
{
    ferry_cell *c = ring_cell(r, seq);
    uint64_t st = atomic_load_explicit(&c->state, memory_order_acquire);
    for (;;) {
        if (old_state)
            *old_state = st;
        uint64_t s = st >> FERRY_SEQ_SHIFT;
        uint64_t keep;
        if (s < seq || st == 0) {
            keep = 0;
        } else if (s == seq && ring_phase(st) != FERRY_PHASE_DONE) {
            keep = st & (FERRY_FLAG_PARKED | FERRY_FLAG_GONE);
        } else if (s == seq) {
            return false;
        } else {
            fprintf(stderr, "ring_set_flag: cell of seq %llu is in state %#llx\n", (unsigned long long)seq,
                    (unsigned long long)st);
            abort();
        }
        uint64_t want = (seq << FERRY_SEQ_SHIFT) | keep | flag | FERRY_PHASE_PUBLISHED;
        if (atomic_compare_exchange_weak_explicit(&c->state, &st, want, memory_order_seq_cst, memory_order_acquire))
            return true;
    }
}

static inline bool ring_set_flag(ring *r, uint64_t seq, uint64_t flag)
{
    return ring_set_flag_old(r, seq, flag, NULL);
}

/* Sets GONE on seq's slot while the call is queued (PUBLISHED(seq)); false once the engine took it. */
static inline bool ring_give_up_queued(ring *r, uint64_t seq)
{
    ferry_slot *s = ring_slot(r, seq);
    uint64_t st = atomic_load_explicit(&s->state, memory_order_acquire);
    for (;;) {
        if ((st >> FERRY_SEQ_SHIFT) != seq || ring_phase(st) != FERRY_PHASE_PUBLISHED || (st & FERRY_FLAG_GONE))
            return false;
        if (atomic_compare_exchange_weak_explicit(&s->state, &st, st | FERRY_FLAG_GONE, memory_order_seq_cst,
                                                  memory_order_acquire))
            return true;
    }
}

/* Gives up on a published call: GONE on its cell, then on its slot if still queued. Returns 0 if the
 * call was already DONE (take it); otherwise the engine still finishes it on its cell (do not reuse the
 * cell before it reads DONE) and the result says what the caller may conclude: RING_GAVE_UP_SKIPPED
 * (the engine will not run the call) or RING_GAVE_UP_MAYBE_RAN. */
static inline int ring_give_up_how(ring *r, uint64_t seq)
{
    if (!ring_set_flag(r, seq, FERRY_FLAG_GONE))
        return 0;
    bool queued = ring_give_up_queued(r, seq);
    ring_cell_release(r, seq, true);
    /* After the seq_cst CAS on the slot: either this load sees the engine's started store, or the
     * engine's re-load of the slot sees our GONE and skips the call. */
    return queued && ring_started(r) <= seq ? RING_GAVE_UP_SKIPPED : RING_GAVE_UP_MAYBE_RAN;
}

/* Gives up on a published call. Returns true if given up (do not touch the cell until it reads DONE);
 * false if the call was already DONE (take it). */
static inline bool ring_give_up(ring *r, uint64_t seq)
{
    return ring_give_up_how(r, seq) != 0;
}

/* ---- whole calls -------------------------------------------------------------------------------- */

static inline void ring_res_free(ring_res *res)
{
    free(res->out);
    res->out = NULL;
    free(res->err_out);
    res->err_out = NULL;
}

/* A timed call: gives up when timeout_ns passes after publishing (timeout_ns < 0: no timeout, only the
 * hang deadline). RING_OK, RING_CLOSED, RING_TIMEDOUT (the call is the engine's now; res is untouched),
 * RING_NOMEM or RING_HUNG (a wait passed hang_ns).
 * *seq_out, if not NULL, receives the claimed sequence; *gave_up, if not NULL, receives 0, or on
 * RING_TIMEDOUT RING_GAVE_UP_SKIPPED or RING_GAVE_UP_MAYBE_RAN. */
static inline int ring_call_timed_seq(ring *r, const ring_req *q, ring_res *res, int64_t timeout_ns,
                                      uint64_t *seq_out, int *gave_up)
{
    if (gave_up)
        *gave_up = 0;
    uint64_t seq = 0;
    int rc = ring_claim(r, &seq);
    if (rc != RING_OK)
        return rc;
    if (seq_out)
        *seq_out = seq;
    if (ring_wait_free(r, seq, ring_now_ns() + r->hang_ns) != RING_OK)
        return RING_HUNG;
    if (ring_fill(r, seq, q) != RING_OK) {
        /* Abort record (ring_fill wrote FERRY_OP_ABORT): the engine must still see seq, or it would
         * wait for it forever. */
        ring_publish(r, seq, 0);
        ring_cell_release(r, seq, false); /* the engine ignores an abort record's cell */
        return RING_NOMEM;
    }
    ring_publish(r, seq, 0);
    int64_t deadline = timeout_ns >= 0 ? ring_now_ns() + timeout_ns : ring_now_ns() + r->hang_ns;
    if (ring_wait_done(r, seq, deadline) != RING_OK) {
        if (timeout_ns < 0)
            return RING_HUNG;
        int how = ring_give_up_how(r, seq);
        if (how != 0) {
            if (gave_up)
                *gave_up = how;
            return RING_TIMEDOUT;
        }
    }
    ring_take(r, seq, res);
    return RING_OK;
}

static inline int ring_call_timed(ring *r, const ring_req *q, ring_res *res, int64_t timeout_ns)
{
    return ring_call_timed_seq(r, q, res, timeout_ns, NULL, NULL);
}

/* A synchronous call: RING_OK, RING_CLOSED or RING_HUNG. */
static inline int ring_call(ring *r, const ring_req *q, ring_res *res)
{
    return ring_call_timed_seq(r, q, res, -1, NULL, NULL);
}

/* Convenience: a primitive call with two arguments. */
static inline int ring_call2(ring *r, int32_t op, int64_t a0, int64_t a1, ring_res *res)
{
    ring_req q = { .op = op, .arg0 = a0, .arg1 = a1 };
    return ring_call(r, &q, res);
}

/* Convenience: a call with input bytes (and arg0). */
static inline int ring_call_bytes(ring *r, int32_t op, int64_t a0, const void *in, size_t len, ring_res *res)
{
    ring_req q = { .op = op, .arg0 = a0, .has_input = true, .in = in, .in_len = len };
    return ring_call(r, &q, res);
}

#endif /* FERRY_RING_CLIENT_H */
