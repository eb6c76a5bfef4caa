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
 *   wait      until the slot's state reads exactly FREE(seq): the previous lap's caller has left
 *   fill      op, flags, ctx, arg0, arg1, in_ptr, in_len with plain stores (input from ferry_alloc; the
 *             engine owns and frees it from here on)
 *   publish   seq_cst store of (seq << 8) | PUBLISHED; then, if engine.sleeping != 0, ferry_engine_wake
 *   wait      until the phase is DONE (spin, then yield)
 *   take      read result, err, out_kind, out_ptr, out_len; copy the bytes out; ferry_free(out_ptr)
 *   release   store FREE(seq + capacity) with release
 *
 * A timed caller that runs out of time CASes FERRY_FLAG_GONE into the PUBLISHED state (seq_cst: a full
 * fence) and then never touches the slot again (the engine skips or finishes the call and frees the slot
 * itself); if the call is already DONE it takes the result as usual. Right after its GONE CAS it reads
 * stats.started (seq_cst): started <= seq means the engine will skip the call, started > seq that the
 * call may already be running (ferry.h, "Starting a call").
 *
 * Every wait here is bounded by a deadline: a protocol bug must fail a test, not hang it.
 */
#ifndef FERRY_RING_CLIENT_H
#define FERRY_RING_CLIENT_H

#include "ferry.h"

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

typedef struct ring {
    ferry_region *region;
    ferry_engine *engine;
    uint32_t capacity;
    uint64_t mask;
    int64_t hang_ns; /* the longest any single wait may take */
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

static inline uint64_t ring_free_state(uint64_t seq)
{
    return seq << FERRY_SEQ_SHIFT;
}

static inline uint64_t ring_phase(uint64_t state)
{
    return state & FERRY_PHASE_MASK;
}

/* ---- lifecycle ---------------------------------------------------------------------------------- */

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
    if (!mem) {
        snprintf(err, errlen, "out of memory");
        return FERRY_E_NOMEM;
    }
    int rc = ferry_engine_start(mem, capacity, idle_spin_ns, plugin, symbol, NULL, wake, &r->engine, err, errlen);
    if (rc != 0) {
        free(mem);
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
        if (st != ring_free_state(t))
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
    while (atomic_load_explicit(&s->state, memory_order_acquire) != ring_free_state(seq))
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

/* Publishes the filled slot (extra_flags: FERRY_FLAG_PARKED for an async call, FERRY_FLAG_GONE for an
 * abort record), then wakes the engine if it announced that it sleeps. */
static inline void ring_publish(ring *r, uint64_t seq, uint64_t extra_flags)
{
    ferry_slot *s = ring_slot(r, seq);
    /* seq_cst: the store half of the Dekker pair with the engine's sleep announcement (ferry.h). */
    atomic_store_explicit(&s->state, ring_free_state(seq) | extra_flags | FERRY_PHASE_PUBLISHED,
                          memory_order_seq_cst);
    if (atomic_load_explicit(&r->region->engine.sleeping, memory_order_seq_cst) != 0)
        ferry_engine_wake(r->engine);
}

/* Waits until the phase is DONE, bounded by deadline. RING_OK or RING_HUNG (the call is still ours). */
static inline int ring_wait_done(ring *r, uint64_t seq, int64_t deadline)
{
    ferry_slot *s = ring_slot(r, seq);
    uint32_t spins = 0;
    /* Acquire: pairs with the engine's release add that made the call DONE. */
    while (ring_phase(atomic_load_explicit(&s->state, memory_order_acquire)) != FERRY_PHASE_DONE)
        if (!ring_backoff(&spins, deadline))
            return RING_HUNG;
    return RING_OK;
}

/* Reads a DONE slot's result, frees its output, and releases the slot to seq + capacity. */
static inline void ring_take(ring *r, uint64_t seq, ring_res *res)
{
    ferry_slot *s = ring_slot(r, seq);
    res->result = s->result;
    res->err = s->err;
    res->out_kind = s->out_kind;
    res->out_len = s->out_len;
    res->out = NULL;
    res->err_out_len = res->out_kind == FERRY_OUT_ERROR ? s->err_out_len : 0;
    res->err_out = NULL;
    void *out = (void *)(uintptr_t)s->out_ptr;
    if (out) {
        res->out = malloc((size_t)res->out_len + 1);
        if (res->out) {
            memcpy(res->out, out, (size_t)res->out_len);
            res->out[res->out_len] = '\0';
        }
        /* A failure's output follows its message's NUL in the same buffer (ferry.h, slot.err_out_len). */
        if (res->err_out_len && (res->err_out = malloc((size_t)res->err_out_len)) != NULL)
            memcpy(res->err_out, (const char *)out + res->out_len + 1, (size_t)res->err_out_len);
        ferry_free(out);
    }
    /* Release: our reads above happen before the next lap's producer writes the slot. */
    atomic_store_explicit(&s->state, ring_free_state(seq + r->capacity), memory_order_release);
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

/* Sets a flag (PARKED or GONE) while the call is PUBLISHED (the only phase before DONE). Returns true if
 * set; false if the call was already DONE (it is still ours: take it). *old_state, if not NULL, receives
 * the state the CAS replaced (or the DONE state it found). The CAS is seq_cst: for GONE it is the store
 * half of the Dekker pair with the engine's start, ordered before a following ring_started(). */
static inline bool ring_set_flag_old(ring *r, uint64_t seq, uint64_t flag, uint64_t *old_state)
{
    ferry_slot *s = ring_slot(r, seq);
    uint64_t st = atomic_load_explicit(&s->state, memory_order_acquire);
    for (;;) {
        uint64_t ph = ring_phase(st);
        if (old_state)
            *old_state = st;
        if (ph == FERRY_PHASE_DONE)
            return false;
        if (ph != FERRY_PHASE_PUBLISHED) {
            fprintf(stderr, "ring_set_flag: slot of seq %llu is in state %#llx\n", (unsigned long long)seq,
                    (unsigned long long)st);
            abort();
        }
        if (atomic_compare_exchange_weak_explicit(&s->state, &st, st | flag, memory_order_seq_cst,
                                                  memory_order_acquire))
            return true;
    }
}

static inline bool ring_set_flag(ring *r, uint64_t seq, uint64_t flag)
{
    return ring_set_flag_old(r, seq, flag, NULL);
}

/* Gives up on a published call. Returns 0 if the call was already DONE (take it); otherwise the slot now
 * belongs to the engine (do not touch it) and the result says what the caller may conclude:
 * RING_GAVE_UP_SKIPPED (the engine will not run the call) or RING_GAVE_UP_MAYBE_RAN. */
static inline int ring_give_up_how(ring *r, uint64_t seq)
{
    if (!ring_set_flag(r, seq, FERRY_FLAG_GONE))
        return 0;
    /* After the seq_cst CAS: either this load sees the engine's started store, or the engine's re-load
     * of the state sees our GONE and skips the call. */
    return ring_started(r) <= seq ? RING_GAVE_UP_SKIPPED : RING_GAVE_UP_MAYBE_RAN;
}

/* Gives up on a published call. Returns true if the slot now belongs to the engine (do not touch it);
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
        /* Abort record: the engine must still see seq, or it would wait for it forever. */
        ring_publish(r, seq, FERRY_FLAG_GONE);
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
