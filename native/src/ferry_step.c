/*
 * ferry_step.c: the consumer step: the engine runs every call published in order from head, one slot at
 * a time (ferry.h documents the slot protocol), and accounts for them in the stats block.
 */
#include "ferry_internal.h"
#include "ferry_counters.h" /* counters */

#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A call's request, copied out of its slot before the engine frees the slot (ferry.h, "Slot"). */
typedef struct ferry__request {
    int32_t op;
    uint32_t flags;
    uint64_t ctx;
    uint64_t in_ptr;
    uint64_t in_len;
} ferry__request;

/* Runs a batch slot's items (FERRY_CALL_BATCH): one context check and op lookup for all of them. */
static void ferry__execute_batch(ferry_engine *e, const ferry__request *r, ferry_call *c, const ferry__op *entry)
{
    if (entry->flags & FERRY_OP_IN_BYTES) {
        ferry_call_fail(c, FERRY_E_INVALID, "op '%s' takes an input byte array and cannot be batched", entry->name);
        return;
    }
    ferry_batch_item *items = (ferry_batch_item *)(uintptr_t)r->in_ptr;
    uint64_t n = r->in_len;
    if (!items && n != 0) {
        ferry_call_fail(c, FERRY_E_INVALID, "batch call has a null item pointer with %llu items", (unsigned long long)n);
        return;
    }
    for (uint64_t i = 0; i < n; i++) {
        ferry_call item = { .engine = e, .cell = c->cell, .seq = c->seq, .ctx_id = c->ctx_id, .ctx = c->ctx,
                            .arg = { items[i].arg0, items[i].arg1 } };
        int rc = entry->fn(&item, entry->data);
        if (rc != 0 && item.err == 0)
            ferry_call_fail(&item, rc, "op '%s' failed with code %d", entry->name, rc);
        items[i].result = item.result;
        items[i].err = item.err;
        free(item.out);
        if (item.err != 0 && c->err == 0) {
            /* The slot reports its first failure; the items report each of theirs. */
            c->err = item.err;
            c->err_msg = item.err_msg;
            c->result = (int64_t)i;
        } else {
            free(item.err_msg);
        }
    }
}

static void ferry__execute(ferry_engine *e, const ferry__request *r, ferry_call *c)
{
    int32_t op = r->op;
    /* Never trust a record that has not been validated: Java checks these too, but a slot is plain
     * memory and a bug or a forged write must end in an error, not a wild call. */
    c->ctx = ferry__context_resolve(e, r->ctx);
    if (!c->ctx) {
        ferry_call_fail(c, FERRY_E_CONTEXT, "context id %#llx is closed or was never issued",
                        (unsigned long long)r->ctx);
        return;
    }
    if (op < 0 || op >= e->reg.count) {
        ferry_call_fail(c, FERRY_E_UNKNOWN_OP, "unknown op id %d (the engine has %d ops)", op, e->reg.count);
        return;
    }
    const ferry__op *entry = &e->reg.ops[op];
    if (ferry__context_authorize(c, entry, op) != 0)
        return;
    if (r->flags & FERRY_CALL_BATCH) {
        ferry__execute_batch(e, r, c, entry);
        return;
    }
    if ((entry->flags & FERRY_OP_IN_BYTES) && !(r->flags & FERRY_CALL_HAS_INPUT)) {
        ferry_call_fail(c, FERRY_E_INVALID, "op '%s' takes an input byte array and none was given", entry->name);
        return;
    }
    int rc = entry->fn(c, entry->data);
    /* An op that recorded a failure and still returned 0 has failed all the same. */
    if (rc != 0 && c->err == 0)
        ferry_call_fail(c, rc, "op '%s' failed with code %d", entry->name, rc);
}

/* Frees seq's slot for the next lap once its request is copied out. Release pairs with the producer's
 * acquire load that waits for FREE(seq + capacity), and orders our loads of the request before it. An
 * exchange, so that the old value shows FREE_WAKE: a producer waiting for the slot sets it by a CAS on
 * this same word before it parks, so either its CAS comes first and we wake it, or its CAS fails and
 * its re-check sees FREE. */
static void ferry__release(ferry_engine *e, ferry_slot *s, uint64_t seq)
{
    uint64_t old = ferry__exchange_acq_rel(&s->state, (seq + e->capacity) << FERRY_SEQ_SHIFT);
    if ((old & FERRY_FLAG_FREE_WAKE) && e->wake)
        e->wake(FERRY_WAKE_SLOT | (uint32_t)(seq & e->mask));
}

/* Starts seq: the engine's half of the Dekker pair that lets a caller who gave up tell "skipped" from
 * "may be running" (ferry.h, "Starting a call"). Announces seq in stats.started, then re-reads the slot
 * state; returns true if the caller has set GONE, and the call must then be skipped. Both seq_cst:
 * nothing weaker orders the store before the load. Pairs with the caller's GONE CAS (a full fence)
 * followed by its seq_cst load of stats.started: a caller that reads started <= seq set GONE before
 * our load, which sees it. It writes only the engine's own stats line and re-reads the slot line the
 * loop has just loaded: in the common case no cache line moves between threads for it. */
static inline bool ferry__start_gone(ferry_engine *e, ferry_slot *s, uint64_t seq)
{
    ferry__store_seq_cst(&e->region->stats.started, seq + 1);
    return (ferry__load_seq_cst(&s->state) & FERRY_FLAG_GONE) != 0;
}

/* Points the call at the request's input. Returns whether it carries one (the engine frees it once the
 * call is done); *bad is set when it is a null pointer with a non-zero length. */
static bool ferry__bind_input(ferry_call *c, const ferry__request *r, bool *bad)
{
    *bad = false;
    if (!(r->flags & FERRY_CALL_HAS_INPUT))
        return false;
    c->input = (const void *)(uintptr_t)r->in_ptr;
    c->input_len = (size_t)r->in_len;
    if (!c->input) {
        *bad = c->input_len != 0;
        c->input = "";
        c->input_len = 0;
    }
    return true;
}

/* Writes a failed call's outcome: its message (whole, however long), a NUL, then whatever output the op
 * wrote before it failed, in one buffer the caller frees (ferry.h, cell.err_out_len). If that buffer
 * cannot be grown the output is dropped, never the message; without a message (out of memory) out_ptr
 * is NULL and the output is dropped too. */
static void ferry__write_failure(ferry_cell *cell, ferry_call *c)
{
    size_t msg_len = c->err_msg ? strlen(c->err_msg) : 0;
    uint64_t kept = 0;
    if (c->err_msg && c->out && c->out_len) {
        char *joined = realloc(c->err_msg, msg_len + 1 + c->out_len);
        if (joined) {
            memcpy(joined + msg_len + 1, c->out, c->out_len);
            c->err_msg = joined;
            kept = c->out_len;
        }
    }
    free(c->out);
    c->out = NULL;
    cell->out_kind = FERRY_OUT_ERROR;
    cell->out_ptr = (uint64_t)(uintptr_t)c->err_msg;
    cell->out_len = msg_len;
    cell->err_out_len = kept;
}

/* Writes the call's outcome into the caller's cell, which the caller is polling. Every store here takes
 * the line back from it, and a load would fetch it first: so nothing is read, and a plain call stores the
 * result alone. That relies on the cell's invariant (ferry.h, "Completion cell"): between calls its err is
 * 0 and its out_kind NONE, because whoever takes a failure or an output resets them. */
static void ferry__write_outcome(ferry_cell *cell, ferry_call *c)
{
    cell->result = c->result;
    if (c->err != 0) {
        cell->err = c->err;
        ferry__write_failure(cell, c);
    } else if (c->out) {
        cell->out_kind = FERRY_OUT_BYTES;
        cell->out_ptr = (uint64_t)(uintptr_t)c->out;
        cell->out_len = c->out_len;
    }
}

/* Finishes seq on its cell: one CAS to DONE(seq), keeping the flags the caller set for seq (a state
 * for an earlier seq is the cell's previous call's, and its flags are not ours), with GONE added for a
 * call skipped because its slot was GONE (it has no outcome). Release publishes the outcome stores to
 * the caller's acquire load; the old value tells whether the caller parked (wake it) or gave the call
 * up (discard the outcome). Returns whether the call ended given up. */
static bool ferry__finish_cell(ferry_engine *e, ferry_cell *cell, uint64_t seq, uint64_t skipped)
{
    uint64_t old = ferry__load_relaxed(&cell->state);
    uint64_t flags;
    do {
        flags = (old >> FERRY_SEQ_SHIFT) == seq ? old & (FERRY_FLAG_PARKED | FERRY_FLAG_GONE) : 0;
        flags |= skipped;
    } while (!ferry__cas_acq_rel(&cell->state, &old, (seq << FERRY_SEQ_SHIFT) | flags | FERRY_PHASE_DONE));
    if (flags & FERRY_FLAG_GONE)
        return true;
    if ((flags & FERRY_FLAG_PARKED) && e->wake)
        e->wake(cell->id);
    return false;
}

static void ferry__run_slot(ferry_engine *e, ferry_slot *s, uint64_t seq)
{
    /* One predictable branch per call when no engine registered a cancel hook. */
    const bool cancellable = e->cancel_hooked;
    if (cancellable)
        ferry__cancel_window_open(e, seq);
    bool gone = ferry__start_gone(e, s, seq);
    ferry__request r = { .op = s->op, .flags = s->flags, .ctx = s->ctx, .in_ptr = s->in_ptr, .in_len = s->in_len };
    ferry_call c = { .engine = e, .cell = (ferry_cell *)(uintptr_t)s->cell, .seq = seq, .ctx_id = s->ctx,
                     .arg = { s->arg0, s->arg1 } };
    ferry__release(e, s, seq);
    /* An abort record's producer failed before it could fill the slot: its cell and input fields may
     * be the previous lap's (already freed, or another caller's). Nothing of it is touched. */
    if (r.op == FERRY_OP_ABORT) {
        if (cancellable)
            ferry__cancel_window_close(e);
        ferry__counters_skip(e, true); /* counters */
        return;
    }
    bool bad_input;
    bool has_input = ferry__bind_input(&c, &r, &bad_input);
    if (!gone) {
        int64_t t0 = ferry__counters_begin(e, r.op); /* counters */
        if (bad_input)
            ferry_call_fail(&c, FERRY_E_INVALID, "call has a null input pointer with length %llu",
                            (unsigned long long)r.in_len);
        else
            ferry__execute(e, &r, &c);
        ferry__counters_end(e, r.op, t0, c.err); /* counters */
    }
    if (cancellable)
        ferry__cancel_window_close(e);
    if (has_input)
        free((void *)(uintptr_t)r.in_ptr);
    if (!gone)
        ferry__write_outcome(c.cell, &c);
    else {
        ferry__counters_skip(e, false); /* counters */
        free(c.out);
        free(c.err_msg);
    }
    if (ferry__finish_cell(e, c.cell, seq, gone ? FERRY_FLAG_GONE : 0) && !gone) {
        /* Given up while it ran: nobody will read the outcome (write_outcome put this buffer, if any,
         * in the cell: the message, joined with the output, or the output). */
        free(c.err != 0 ? c.err_msg : c.out);
        /* The cell's invariant for its next call (nobody takes this outcome to reset it): plain stores,
         * before any later call of this engine writes the cell, and the owner reuses it only after
         * DONE, which is already stored. */
        c.cell->err = 0;
        c.cell->out_kind = FERRY_OUT_NONE;
    }
}

static int64_t ferry__thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

uint64_t ferry__drain(ferry_engine *e, uint64_t head)
{
    ferry_stats_block *sb = &e->region->stats;
    ferry_slot *slots = e->region->slots;
    const uint64_t mask = e->mask;
    uint64_t batch = 0;
    int64_t mark = 0;
    for (;;) {
        ferry_slot *s = &slots[head & mask];
        /* Pairs with the producer's release store that published the slot. */
        uint64_t st = ferry__load_acquire(&s->state);
        if (!ferry__ready(head, st))
            break;
        ferry__run_slot(e, s, head);
        head++;
        batch++;
        /* stats.call_ns: one clock read per 64 calls, and only inside a run of calls back to back, so
         * that the time between two reads is the engine's own (never an idle spell). The thread's CPU
         * clock, not the wall clock: time the engine thread spent preempted is not the calls' (one time
         * slice inside 64 selects would make them look 100 times longer). */
        if ((batch & 63) == 0) {
            int64_t now = ferry__thread_cpu_ns();
            if (mark != 0)
                ferry__store_relaxed(&sb->call_ns, (uint64_t)(now - mark) / 64);
            mark = now;
        }
    }
    if (batch) {
        ferry__store_relaxed(&sb->head, head);
        ferry__store_relaxed(&sb->completed, ferry__load_relaxed(&sb->completed) + batch);
    }
    return head;
}
