/*
 * ferry.c: the engine thread and the consumer side of the ring.
 *
 * The engine is an agent: start-up handshake, then a loop of idle(drain()), then a drain of every call
 * accepted before stop, then on-close hooks, then state STOPPED. See ferry.h for the slot protocol.
 */
#include "ferry_internal.h"

#include <dlfcn.h>
#include <errno.h>
#include <linux/futex.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

/* ---- layout table ------------------------------------------------------------------------------ */

_Static_assert(sizeof(ferry_header) == FERRY_BLOCK, "header block");
_Static_assert(sizeof(ferry_tail_block) == FERRY_BLOCK, "tail block");
_Static_assert(sizeof(ferry_engine_block) == FERRY_BLOCK, "engine block");
_Static_assert(sizeof(ferry_stats_block) == FERRY_BLOCK, "stats block");
_Static_assert(offsetof(ferry_region, stats) == FERRY_OFF_STATS, "stats offset");
_Static_assert(sizeof(ferry_slot) == FERRY_SLOT_SIZE, "slot size");
_Static_assert(offsetof(ferry_region, tail) == FERRY_OFF_TAIL, "tail offset");
_Static_assert(offsetof(ferry_region, engine) == FERRY_OFF_ENGINE, "engine offset");
_Static_assert(offsetof(ferry_region, slots) == FERRY_OFF_SLOTS, "slots offset");
_Static_assert(offsetof(ferry_slot, arg1) + 8 <= 64, "a primitive call fits the slot's first line");
_Static_assert(sizeof(ferry_batch_item) == 32, "batch item size");
_Static_assert((FERRY_PHASE_DONE & ~FERRY_PHASE_MASK) == 0 && FERRY_PHASE_DONE > FERRY_PHASE_PUBLISHED,
               "the DONE add changes the phase bits only");

#define FERRY__FIELD(prefix, type, field) \
    { prefix #field, (uint32_t)offsetof(type, field), (uint32_t)sizeof(((type *)0)->field) }

static const ferry_layout_entry ferry__layout[] = {
    { "region.header", FERRY_OFF_HEADER, sizeof(ferry_header) },
    { "region.tail", FERRY_OFF_TAIL, sizeof(ferry_tail_block) },
    { "region.engine", FERRY_OFF_ENGINE, sizeof(ferry_engine_block) },
    { "region.stats", FERRY_OFF_STATS, sizeof(ferry_stats_block) },
    { "region.slots", FERRY_OFF_SLOTS, sizeof(ferry_slot) },
    FERRY__FIELD("header.", ferry_header, magic),
    FERRY__FIELD("header.", ferry_header, version),
    FERRY__FIELD("header.", ferry_header, capacity),
    FERRY__FIELD("header.", ferry_header, slot_size),
    FERRY__FIELD("header.", ferry_header, region_size),
    FERRY__FIELD("tail.", ferry_tail_block, tail),
    FERRY__FIELD("engine.", ferry_engine_block, sleeping),
    FERRY__FIELD("engine.", ferry_engine_block, state),
    FERRY__FIELD("stats.", ferry_stats_block, head),
    FERRY__FIELD("stats.", ferry_stats_block, completed),
    FERRY__FIELD("stats.", ferry_stats_block, started),
    FERRY__FIELD("stats.", ferry_stats_block, call_ns),
    FERRY__FIELD("slot.", ferry_slot, state),
    FERRY__FIELD("slot.", ferry_slot, op),
    FERRY__FIELD("slot.", ferry_slot, flags),
    FERRY__FIELD("slot.", ferry_slot, ctx),
    FERRY__FIELD("slot.", ferry_slot, arg0),
    FERRY__FIELD("slot.", ferry_slot, arg1),
    FERRY__FIELD("slot.", ferry_slot, result),
    FERRY__FIELD("slot.", ferry_slot, err),
    FERRY__FIELD("slot.", ferry_slot, out_kind),
    FERRY__FIELD("slot.", ferry_slot, in_ptr),
    FERRY__FIELD("slot.", ferry_slot, in_len),
    FERRY__FIELD("slot.", ferry_slot, out_ptr),
    FERRY__FIELD("slot.", ferry_slot, out_len),
    FERRY__FIELD("batch_item.", ferry_batch_item, arg0),
    FERRY__FIELD("batch_item.", ferry_batch_item, arg1),
    FERRY__FIELD("batch_item.", ferry_batch_item, result),
    FERRY__FIELD("batch_item.", ferry_batch_item, err),
    { "const.batch_item_size", (uint32_t)sizeof(ferry_batch_item), 0 },
    { "const.call_batch", FERRY_CALL_BATCH, 0 },
    { "const.slot_size", FERRY_SLOT_SIZE, 0 },
    { "const.seq_shift", FERRY_SEQ_SHIFT, 0 },
    { "const.flag_parked", (uint32_t)FERRY_FLAG_PARKED, 0 },
    { "const.flag_gone", (uint32_t)FERRY_FLAG_GONE, 0 },
    { "const.flag_free_wake", (uint32_t)FERRY_FLAG_FREE_WAKE, 0 },
    { "const.phase_published", (uint32_t)FERRY_PHASE_PUBLISHED, 0 },
    { "const.phase_done", (uint32_t)FERRY_PHASE_DONE, 0 },
    { "const.engine_stopped", FERRY_ENGINE_STOPPED, 0 },
    { "const.call_has_input", FERRY_CALL_HAS_INPUT, 0 },
    { "const.out_bytes", FERRY_OUT_BYTES, 0 },
    { "const.out_error", FERRY_OUT_ERROR, 0 },
    { "const.system_context_generation", (uint32_t)(FERRY_SYSTEM_CONTEXT >> 32), 0 },
};

int32_t ferry_layout(const ferry_layout_entry **entries)
{
    if (entries)
        *entries = ferry__layout;
    return (int32_t)(sizeof(ferry__layout) / sizeof(ferry__layout[0]));
}

/* ---- small helpers ----------------------------------------------------------------------------- */

int64_t ferry__now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static int64_t ferry__thread_cpu_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static void ferry__copy_msg(char *dst, size_t dstlen, const char *src)
{
    if (!dst || dstlen == 0)
        return;
    snprintf(dst, dstlen, "%s", src ? src : "");
}

static long ferry__futex(_Atomic uint32_t *addr, int op, uint32_t val)
{
    return syscall(SYS_futex, (uint32_t *)addr, op, val, NULL, NULL, 0);
}

void *ferry_alloc(uint64_t size)
{
    return malloc(size ? (size_t)size : 1);
}

void ferry_free(void *ptr)
{
    free(ptr);
}

uint64_t ferry_region_size(uint32_t capacity)
{
    if (capacity == 0 || capacity > (1u << 24) || (capacity & (capacity - 1)) != 0)
        return 0;
    return FERRY_OFF_SLOTS + (uint64_t)capacity * FERRY_SLOT_SIZE;
}

/* ---- registry ---------------------------------------------------------------------------------- */

int32_t ferry_register_op(ferry_registry *reg, const char *name, ferry_op_fn fn, void *data, uint32_t flags)
{
    /* "ferry." names and the system flag are Ferry's own: an engine cannot slip past op sets. */
    if (!name || strncmp(name, "ferry.", 6) == 0 || (flags & FERRY_OP_SYSTEM))
        return FERRY_E_INVALID;
    return ferry__register_op(reg, name, fn, data, flags);
}

int32_t ferry__register_op(ferry_registry *reg, const char *name, ferry_op_fn fn, void *data, uint32_t flags)
{
    if (!reg || !name || !*name || !fn || reg->sealed || strlen(name) > 255)
        return FERRY_E_INVALID;
    for (int32_t i = 0; i < reg->count; i++)
        if (strcmp(reg->ops[i].name, name) == 0)
            return FERRY_E_EXISTS;
    if (reg->count == reg->cap) {
        int32_t cap = reg->cap ? reg->cap * 2 : 16;
        ferry__op *ops = realloc(reg->ops, (size_t)cap * sizeof(*ops));
        if (!ops)
            return FERRY_E_NOMEM;
        reg->ops = ops;
        reg->cap = cap;
    }
    char *copy = strdup(name);
    if (!copy)
        return FERRY_E_NOMEM;
    reg->ops[reg->count] = (ferry__op){ copy, fn, data, flags };
    return reg->count++;
}

int ferry_registry_fail(ferry_registry *reg, int code, const char *fmt, ...)
{
    if (!reg)
        return code;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reg->fail_msg, sizeof(reg->fail_msg), fmt, ap);
    va_end(ap);
    reg->fail_code = code ? code : FERRY_E_INIT;
    return reg->fail_code;
}

const char *ferry_registry_arg(const ferry_registry *reg)
{
    return reg && reg->arg ? reg->arg : "";
}

/* Appends a hook to a growable array of them. */
static int ferry__hook_add(ferry__close_fn **hooks, int32_t *count, int32_t *cap, void (*fn)(void *data), void *data)
{
    if (*count == *cap) {
        int32_t n = *cap ? *cap * 2 : 4;
        ferry__close_fn *grown = realloc(*hooks, (size_t)n * sizeof(*grown));
        if (!grown)
            return FERRY_E_NOMEM;
        *hooks = grown;
        *cap = n;
    }
    (*hooks)[(*count)++] = (ferry__close_fn){ fn, data };
    return 0;
}

int ferry_registry_on_close(ferry_registry *reg, void (*fn)(void *data), void *data)
{
    if (!reg || !fn)
        return FERRY_E_INVALID;
    return ferry__hook_add(&reg->on_close, &reg->on_close_count, &reg->on_close_cap, fn, data);
}

int ferry_registry_on_idle(ferry_registry *reg, void (*fn)(void *data), void *data)
{
    if (!reg || !fn || reg->sealed)
        return FERRY_E_INVALID;
    return ferry__hook_add(&reg->on_idle, &reg->on_idle_count, &reg->on_idle_cap, fn, data);
}

static void ferry__registry_run_on_idle(ferry_registry *reg)
{
    for (int32_t i = 0; i < reg->on_idle_count; i++)
        reg->on_idle[i].fn(reg->on_idle[i].data);
}

static void ferry__registry_run_on_close(ferry_registry *reg)
{
    /* Last registered, first run: later registrations may depend on earlier ones. */
    for (int32_t i = reg->on_close_count - 1; i >= 0; i--)
        reg->on_close[i].fn(reg->on_close[i].data);
    reg->on_close_count = 0;
}

static void ferry__registry_free(ferry_registry *reg)
{
    for (int32_t i = 0; i < reg->count; i++)
        free(reg->ops[i].name);
    free(reg->ops);
    free(reg->on_close);
    free(reg->on_idle);
    memset(reg, 0, sizeof(*reg));
}

int32_t ferry_op_lookup(ferry_engine *engine, const char *name, uint32_t *flags)
{
    /* The registry is sealed before the start handshake releases the starter, so reading it from any
     * thread afterwards needs no lock. */
    if (!engine || !name)
        return FERRY_E_INVALID;
    for (int32_t i = 0; i < engine->reg.count; i++) {
        if (strcmp(engine->reg.ops[i].name, name) == 0) {
            if (flags)
                *flags = engine->reg.ops[i].flags;
            return i;
        }
    }
    return FERRY_E_UNKNOWN_OP;
}

/* ---- the call an op sees ----------------------------------------------------------------------- */

int64_t ferry_call_arg(const ferry_call *call, int index)
{
    return index == 0 || index == 1 ? call->arg[index] : 0;
}

double ferry_call_arg_f64(const ferry_call *call, int index)
{
    int64_t bits = ferry_call_arg(call, index);
    double v;
    memcpy(&v, &bits, sizeof(v));
    return v;
}

const void *ferry_call_input(const ferry_call *call, size_t *len)
{
    if (len)
        *len = call->input_len;
    return call->input;
}

uint64_t ferry_call_context(const ferry_call *call)
{
    return call->slot->ctx;
}

void ferry_call_set_i64(ferry_call *call, int64_t value)
{
    call->result = value;
}

void ferry_call_set_f64(ferry_call *call, double value)
{
    memcpy(&call->result, &value, sizeof(value));
}

void *ferry_call_output_buffer(ferry_call *call, size_t len)
{
    free(call->out);
    call->out = malloc(len ? len : 1);
    call->out_len = call->out ? len : 0;
    return call->out;
}

void ferry_call_adopt_output(ferry_call *call, void *data, size_t len)
{
    free(call->out);
    call->out = data;
    call->out_len = data ? len : 0;
}

int ferry_call_set_output(ferry_call *call, const void *data, size_t len)
{
    void *buf = ferry_call_output_buffer(call, len);
    if (!buf)
        return FERRY_E_NOMEM;
    if (len)
        memcpy(buf, data, len);
    return 0;
}

int ferry_call_fail(ferry_call *call, int code, const char *fmt, ...)
{
    if (code == 0)
        code = FERRY_E_INVALID;
    free(call->err_msg);
    call->err_msg = NULL;
    /* Measure, then format into a buffer of exactly that size: a message of any length arrives whole
     * (a fixed buffer would cut it, possibly inside a UTF-8 character). */
    va_list ap, again;
    va_start(ap, fmt);
    va_copy(again, ap);
    int len = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (len >= 0 && (call->err_msg = malloc((size_t)len + 1)) != NULL)
        vsnprintf(call->err_msg, (size_t)len + 1, fmt, again);
    va_end(again);
    call->err = code;
    return code;
}

int ferry_call_cancelled(const ferry_call *call)
{
    /* Relaxed is enough: the flag only asks the op to stop early; nothing is read on its strength. */
    return (ferry__load_relaxed(&call->slot->state) & FERRY_FLAG_GONE) != 0;
}

/* ---- running one slot -------------------------------------------------------------------------- */

/* Runs a batch slot's items (FERRY_CALL_BATCH): one context check and op lookup for all of them. */
static void ferry__execute_batch(ferry_engine *e, ferry_slot *s, ferry_call *c, const ferry__op *entry)
{
    if (entry->flags & FERRY_OP_IN_BYTES) {
        ferry_call_fail(c, FERRY_E_INVALID, "op '%s' takes an input byte array and cannot be batched", entry->name);
        return;
    }
    ferry_batch_item *items = (ferry_batch_item *)(uintptr_t)s->in_ptr;
    uint64_t n = s->in_len;
    if (!items && n != 0) {
        ferry_call_fail(c, FERRY_E_INVALID, "batch call has a null item pointer with %llu items", (unsigned long long)n);
        return;
    }
    for (uint64_t i = 0; i < n; i++) {
        ferry_call item = { .slot = s, .engine = e, .ctx = c->ctx, .arg = { items[i].arg0, items[i].arg1 } };
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

static void ferry__execute(ferry_engine *e, ferry_slot *s, ferry_call *c)
{
    int32_t op = s->op;
    /* Never trust a record that has not been validated: Java checks these too, but a slot is plain
     * memory and a bug or a forged write must end in an error, not a wild call. */
    c->ctx = ferry__context_resolve(e, s->ctx);
    if (!c->ctx) {
        ferry_call_fail(c, FERRY_E_CONTEXT, "context id %#llx is closed or was never issued",
                        (unsigned long long)s->ctx);
        return;
    }
    if (op < 0 || op >= e->reg.count) {
        ferry_call_fail(c, FERRY_E_UNKNOWN_OP, "unknown op id %d (the engine has %d ops)", op, e->reg.count);
        return;
    }
    const ferry__op *entry = &e->reg.ops[op];
    if (ferry__context_authorize(c, entry, op) != 0)
        return;
    if (s->flags & FERRY_CALL_BATCH) {
        ferry__execute_batch(e, s, c, entry);
        return;
    }
    if ((entry->flags & FERRY_OP_IN_BYTES) && !(s->flags & FERRY_CALL_HAS_INPUT)) {
        ferry_call_fail(c, FERRY_E_INVALID, "op '%s' takes an input byte array and none was given", entry->name);
        return;
    }
    int rc = entry->fn(c, entry->data);
    /* An op that recorded a failure and still returned 0 has failed all the same. */
    if (rc != 0 && c->err == 0)
        ferry_call_fail(c, rc, "op '%s' failed with code %d", entry->name, rc);
}

/* Frees a slot no caller will release (a given-up call, an abort record). Release pairs with the
 * producer's acquire load that waits for FREE(seq + capacity). An exchange, so that the old value shows
 * FREE_WAKE: a producer waiting for the slot sets it by a CAS on this same word before it parks, so
 * either its CAS comes first and we wake it, or its CAS fails and its re-check sees FREE. */
static void ferry__release(ferry_engine *e, ferry_slot *s, uint64_t seq)
{
    uint64_t old = ferry__exchange_acq_rel(&s->state, (seq + e->capacity) << FERRY_SEQ_SHIFT);
    if ((old & FERRY_FLAG_FREE_WAKE) && e->wake)
        e->wake((uint32_t)(seq & e->mask));
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

static void ferry__run_slot(ferry_engine *e, ferry_slot *s, uint64_t seq)
{
    /* The phase stays PUBLISHED while the call runs: no store to the caller's line until DONE. */
    bool gone = ferry__start_gone(e, s, seq);
    ferry_call c = { .slot = s, .engine = e, .arg = { s->arg0, s->arg1 } };
    /* An abort record carries no input, whatever its flags say: its producer failed before it could
     * fill the slot, so the input fields may still be the previous lap's (already freed). */
    bool aborted = s->op == FERRY_OP_ABORT;
    bool has_input = !aborted && (s->flags & FERRY_CALL_HAS_INPUT) != 0;
    bool bad_input = false;
    if (has_input) {
        c.input = (const void *)(uintptr_t)s->in_ptr;
        c.input_len = (size_t)s->in_len;
        if (!c.input) {
            bad_input = c.input_len != 0;
            c.input = "";
            c.input_len = 0;
        }
    }
    if (!gone && !aborted) {
        if (bad_input)
            ferry_call_fail(&c, FERRY_E_INVALID, "call has a null input pointer with length %llu",
                            (unsigned long long)s->in_len);
        else
            ferry__execute(e, s, &c);
    }
    if (has_input)
        free((void *)(uintptr_t)s->in_ptr);
    if (gone || aborted) {
        free(c.out);
        free(c.err_msg);
        ferry__release(e, s, seq);
        return;
    }

    /* The caller is polling this line. Every store here takes the line back from it, and a poll between
     * two stores takes it away again: write only what changed. A plain call changes the result alone
     * (err and out_kind are still 0 from the last lap), so the line moves once before the add, not three
     * times; the spinning round trip went from ~1.12x to ~0.95x JCTools' in an A/B of this change. */
    if (s->result != c.result)
        s->result = c.result;
    if (s->err != c.err)
        s->err = c.err;
    if (c.err != 0) {
        free(c.out);
        s->out_kind = FERRY_OUT_ERROR;
        s->out_ptr = (uint64_t)(uintptr_t)c.err_msg;
        s->out_len = c.err_msg ? strlen(c.err_msg) : 0;
    } else if (c.out) {
        s->out_kind = FERRY_OUT_BYTES;
        s->out_ptr = (uint64_t)(uintptr_t)c.out;
        s->out_len = c.out_len;
    } else if (s->out_kind != FERRY_OUT_NONE) {
        s->out_kind = FERRY_OUT_NONE;
        s->out_ptr = 0;
        s->out_len = 0;
    }

    /* PUBLISHED -> DONE, the one atomic add of the call. An add keeps any flag the caller set.
     * Release publishes the result stores above to the caller's acquire load; the old value tells
     * whether the caller parked (wake it) or left (free the slot ourselves). */
    uint64_t old = ferry__fetch_add_acq_rel(&s->state, FERRY_PHASE_DONE - FERRY_PHASE_PUBLISHED);
    if (old & FERRY_FLAG_GONE) {
        free((void *)(uintptr_t)s->out_ptr);
        ferry__release(e, s, seq);
    } else if ((old & FERRY_FLAG_PARKED) && e->wake) {
        e->wake((uint32_t)(seq & e->mask));
    }
}

/* ---- the engine thread ------------------------------------------------------------------------- */

static bool ferry__ready(ferry_slot *s, uint64_t head, uint64_t st)
{
    (void)s;
    return (st >> FERRY_SEQ_SHIFT) == head && (st & FERRY_PHASE_MASK) == FERRY_PHASE_PUBLISHED;
}

/* The second load of ferry__sleep's Dekker pair: seq_cst, as an acquire load is not ordered after the
 * seq_cst store of sleeping and could miss a stop whose exchange of sleeping found us not yet asleep. */
static bool ferry__finished(ferry_engine *e, uint64_t head)
{
    uint64_t closed = ferry__load_seq_cst(&e->closed_at);
    return closed != FERRY__NOT_CLOSED && head >= closed;
}

/* Announce sleep, re-check, sleep: io_uring's NEED_WAKEUP protocol. */
static void ferry__sleep(ferry_engine *e, uint64_t head)
{
    ferry_engine_block *eb = &e->region->engine;
    ferry_slot *s = &e->region->slots[head & e->mask];
    /* Dekker pair: our seq_cst store of sleeping, then seq_cst loads of the slot and closed_at;
     * the producer's volatile publish, then volatile load of sleeping (ferry_engine_stop: seq_cst
     * store of closed_at, then exchange of sleeping). At least one side sees the other, so either
     * we see the work or the producer sees us asleep and wakes us. Nothing weaker than seq_cst
     * orders a store before a later load. */
    ferry__store_seq_cst(&eb->sleeping, 1u);
    uint64_t st = ferry__load_seq_cst(&s->state);
    if (!ferry__ready(s, head, st) && !ferry__finished(e, head)) {
        while (ferry__load_seq_cst(&eb->sleeping) == 1u)
            ferry__futex(&eb->sleeping, FUTEX_WAIT_PRIVATE, 1u);
    }
    ferry__store_relaxed(&eb->sleeping, 0u);
}

static void ferry__loop(ferry_engine *e)
{
    ferry_engine_block *eb = &e->region->engine;
    ferry_stats_block *sb = &e->region->stats;
    ferry_slot *slots = e->region->slots;
    const uint64_t mask = e->mask;
    uint64_t head = 0;
    int64_t idle_since = 0;
    uint32_t polls = 0;
    bool draining = false;
    bool idle_hooked = true; /* the on-idle hooks ran since the last call (nothing to let go at start) */

    for (;;) {
        uint64_t batch = 0;
        int64_t mark = 0;
        for (;;) {
            ferry_slot *s = &slots[head & mask];
            /* Pairs with the producer's release store that published the slot. */
            uint64_t st = ferry__load_acquire(&s->state);
            if (!ferry__ready(s, head, st))
                break;
            ferry__run_slot(e, s, head);
            head++;
            batch++;
            /* stats.call_ns: one clock read per 64 calls, and only inside a run of calls back to back,
             * so that the time between two reads is the engine's own (never an idle spell). The
             * thread's CPU clock, not the wall clock: time the engine thread spent preempted is not
             * the calls' (one time slice inside 64 selects would make them look 100 times longer). */
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
            idle_since = 0;
            polls = 0;
            idle_hooked = false;
            continue;
        }
        uint64_t closed = ferry__load_acquire(&e->closed_at);
        if (closed != FERRY__NOT_CLOSED) {
            if (head >= closed)
                return;
            if (!draining) {
                ferry__store_release(&eb->state, FERRY_ENGINE_DRAINING);
                draining = true;
            }
        }
        /* Idle: spin for the budget, then sleep. The clock is read only every 64 polls, and first at the
         * 64th: in a busy ping-pong most idle spells end sooner, and a clock read costs ~20 ns in a VM
         * (8% of the engine's time in a profile when it was read at the start of every spell). */
        if (e->idle_spin_ns == 0) {
            if (!idle_hooked)
                ferry__registry_run_on_idle(&e->reg);
            idle_hooked = true;
            ferry__sleep(e, head);
            continue;
        }
        if ((++polls & 63) == 0) {
            int64_t now = ferry__now_ns();
            if (idle_since == 0) {
                idle_since = now;
            } else if (now - idle_since >= e->idle_spin_ns) {
                if (!idle_hooked)
                    ferry__registry_run_on_idle(&e->reg);
                idle_hooked = true;
                ferry__sleep(e, head);
                idle_since = 0;
                polls = 0;
                continue;
            } else if (!idle_hooked && now - idle_since >= FERRY_IDLE_HOOK_NS) {
                ferry__registry_run_on_idle(&e->reg);
                idle_hooked = true;
            }
        }
        ferry__cpu_relax();
    }
}

static int ferry__init(ferry_engine *e)
{
    ferry_registry *reg = &e->reg;
    int rc = ferry__register_system_ops(reg, e);
    if (rc < 0)
        return rc;
    rc = ferry__register_builtins(reg);
    if (rc < 0)
        return rc;
    if (e->plugin_path) {
        dlerror();
        e->plugin = dlopen(e->plugin_path, RTLD_NOW | RTLD_LOCAL);
        if (!e->plugin)
            return ferry_registry_fail(reg, FERRY_E_LOAD, "cannot load engine library %s: %s", e->plugin_path,
                                       dlerror());
        const char *sym = e->init_symbol ? e->init_symbol : "ferry_engine_init";
        dlerror();
        void *fn = dlsym(e->plugin, sym);
        if (!fn)
            return ferry_registry_fail(reg, FERRY_E_LOAD, "engine library %s has no init function %s: %s",
                                       e->plugin_path, sym, dlerror());
        ferry_engine_init_fn init;
        memcpy(&init, &fn, sizeof(init));
        rc = init(reg);
        if (rc != 0) {
            if (reg->fail_code == 0)
                ferry_registry_fail(reg, rc, "engine init %s in %s failed with code %d", sym, e->plugin_path, rc);
            return reg->fail_code;
        }
    }
    reg->sealed = true;
    /* The systemic context, after init so that the engine's context hooks see it too. */
    rc = ferry__contexts_init(e, reg->fail_msg, sizeof(reg->fail_msg));
    if (rc != 0)
        reg->fail_code = rc;
    return rc;
}

static void *ferry__main(void *arg)
{
    ferry_engine *e = arg;
    pthread_setname_np(pthread_self(), "ferry-engine");
    e->cpu_clock_ok = pthread_getcpuclockid(pthread_self(), &e->cpu_clock) == 0;
    e->tid = (pid_t)syscall(SYS_gettid); /* published to the starter by the start_mu handshake */
    if (e->wake)
        e->wake(FERRY_WAKE_HELLO);

    int rc = ferry__init(e);
    if (rc != 0) {
        ferry__contexts_close_all(e);
        ferry__registry_run_on_close(&e->reg); /* undo whatever init managed to set up */
        if (e->plugin)
            dlclose(e->plugin);
        e->plugin = NULL;
    }
    ferry__store_release(&e->region->engine.state, rc == 0 ? FERRY_ENGINE_RUNNING : FERRY_ENGINE_STOPPED);

    pthread_mutex_lock(&e->start_mu);
    e->start_rc = rc;
    if (rc != 0)
        ferry__copy_msg(e->start_msg, sizeof(e->start_msg), e->reg.fail_msg);
    e->start_done = 1;
    pthread_cond_signal(&e->start_cv);
    pthread_mutex_unlock(&e->start_mu);
    if (rc != 0)
        return NULL;

    ferry__loop(e);

    ferry__contexts_close_all(e);
    ferry__registry_run_on_close(&e->reg);
    /* Pairs with Java's acquire load of the state word: after STOPPED, the engine makes no more wake
     * calls and touches no slot. */
    ferry__store_release(&e->region->engine.state, FERRY_ENGINE_STOPPED);
    return NULL;
}

/* ---- lifecycle API ----------------------------------------------------------------------------- */

int ferry_engine_start(void *region_mem, uint32_t capacity, int64_t idle_spin_ns, const char *plugin_path,
                       const char *init_symbol, const char *init_arg, ferry_wake_fn wake, ferry_engine **out,
                       char *err, size_t errlen)
{
    if (out)
        *out = NULL;
    uint64_t size = ferry_region_size(capacity);
    if (!region_mem || !out || size == 0 || ((uintptr_t)region_mem % FERRY_BLOCK) != 0 || idle_spin_ns < 0) {
        ferry__copy_msg(err, errlen, "invalid argument: region must be 128-byte aligned, capacity a power of "
                                     "two in 1..2^24, idle_spin_ns >= 0");
        return FERRY_E_INVALID;
    }
    ferry_engine *e = calloc(1, sizeof(*e));
    if (!e) {
        ferry__copy_msg(err, errlen, "out of memory");
        return FERRY_E_NOMEM;
    }
    e->region = region_mem;
    e->capacity = capacity;
    e->mask = capacity - 1;
    e->idle_spin_ns = idle_spin_ns;
    e->wake = wake;
    atomic_init(&e->closed_at, FERRY__NOT_CLOSED);
    atomic_init(&e->joined, 0);
    e->plugin_path = plugin_path ? strdup(plugin_path) : NULL;
    e->init_symbol = init_symbol ? strdup(init_symbol) : NULL;
    e->init_arg = strdup(init_arg ? init_arg : "");
    e->reg.arg = e->init_arg;
    pthread_mutex_init(&e->start_mu, NULL);
    pthread_cond_init(&e->start_cv, NULL);

    ferry_region *r = region_mem;
    memset(r, 0, (size_t)size);
    r->header.magic = FERRY_MAGIC;
    r->header.version = FERRY_VERSION;
    r->header.capacity = capacity;
    r->header.slot_size = FERRY_SLOT_SIZE;
    r->header.region_size = size;
    for (uint32_t i = 0; i < capacity; i++)
        atomic_init(&r->slots[i].state, (uint64_t)i << FERRY_SEQ_SHIFT);
    atomic_init(&r->tail.tail, 0);
    atomic_init(&r->engine.state, FERRY_ENGINE_STARTING);

    int prc = pthread_create(&e->thread, NULL, ferry__main, e);
    if (prc != 0) {
        snprintf(err, errlen, "cannot start the engine thread: %s", strerror(prc));
        ferry_engine_destroy(e);
        return FERRY_E_THREAD;
    }
    pthread_mutex_lock(&e->start_mu);
    while (!e->start_done)
        pthread_cond_wait(&e->start_cv, &e->start_mu);
    int rc = e->start_rc;
    pthread_mutex_unlock(&e->start_mu);
    if (rc != 0) {
        ferry__copy_msg(err, errlen, e->start_msg);
        pthread_join(e->thread, NULL);
        atomic_store(&e->joined, 1);
        ferry_engine_destroy(e);
        return rc; /* negative: Ferry's own FERRY_E_*; positive: the init function's own code */
    }
    *out = e;
    return 0;
}

void ferry_engine_wake(ferry_engine *e)
{
    if (!e)
        return;
    _Atomic uint32_t *sleeping = &e->region->engine.sleeping;
    /* The exchange makes exactly one waker pay for the syscall. */
    if (atomic_exchange_explicit(sleeping, 0u, memory_order_seq_cst) != 0u)
        ferry__futex(sleeping, FUTEX_WAKE_PRIVATE, 1u);
}

uint64_t ferry_engine_stop(ferry_engine *e)
{
    if (!e)
        return 0;
    uint64_t old = atomic_fetch_or_explicit(&e->region->tail.tail, FERRY_TAIL_CLOSED, memory_order_seq_cst);
    uint64_t closed_at = old & ~FERRY_TAIL_CLOSED;
    if (!(old & FERRY_TAIL_CLOSED)) {
        /* Only the first stopper gets here. seq_cst: see ferry__sleep. */
        ferry__store_seq_cst(&e->closed_at, closed_at);
    } else {
        /* Another stopper won; it stores closed_at right after its fetch_or. Wait those nanoseconds:
         * our own old value may include claims that were rejected after the stop point. */
        uint64_t c;
        while ((c = ferry__load_seq_cst(&e->closed_at)) == FERRY__NOT_CLOSED)
            ferry__cpu_relax();
        closed_at = c;
    }
    ferry_engine_wake(e);
    return closed_at;
}

int ferry_engine_join(ferry_engine *e, int64_t timeout_ns)
{
    if (!e)
        return FERRY_E_INVALID;
    if (atomic_load(&e->joined))
        return 0;
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    int64_t ns = ts.tv_nsec + (timeout_ns < 0 ? 0 : timeout_ns % 1000000000);
    ts.tv_sec += (timeout_ns < 0 ? 0 : timeout_ns / 1000000000) + ns / 1000000000;
    ts.tv_nsec = ns % 1000000000;
    int rc = pthread_timedjoin_np(e->thread, NULL, &ts);
    if (rc == ETIMEDOUT || rc == EBUSY)
        return FERRY_E_TIMEDOUT;
    if (rc != 0)
        return FERRY_E_INVALID;
    atomic_store(&e->joined, 1);
    return 0;
}

void ferry_engine_destroy(ferry_engine *e)
{
    if (!e)
        return;
    ferry__registry_free(&e->reg);
    if (e->plugin)
        dlclose(e->plugin);
    free(e->plugin_path);
    free(e->init_symbol);
    free(e->init_arg);
    pthread_mutex_destroy(&e->start_mu);
    pthread_cond_destroy(&e->start_cv);
    free(e);
}

int ferry_engine_set_nice(ferry_engine *e, int nice, char *err, size_t errlen)
{
    if (!e || nice < -20 || nice > 19) {
        if (err && errlen)
            snprintf(err, errlen, e ? "invalid argument: nice %d must be in -20..19" : "invalid argument: no engine",
                     nice);
        return FERRY_E_INVALID;
    }
    if (atomic_load(&e->joined)) {
        if (err && errlen)
            snprintf(err, errlen, "the engine thread has stopped");
        return FERRY_E_CLOSED;
    }
    /* On Linux, PRIO_PROCESS with a thread id sets that one thread's nice value. */
    if (setpriority(PRIO_PROCESS, (id_t)e->tid, nice) != 0) {
        int errnum = errno;
        if (err && errlen) {
            /* RLIMIT_NICE n lets an unprivileged thread lower its nice value down to 20 - n. */
            struct rlimit lim;
            long floor = getrlimit(RLIMIT_NICE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY
                             ? 20 - (long)lim.rlim_cur : -20;
            char limit[64];
            if (floor >= 20)
                snprintf(limit, sizeof limit, "this process's is 0");
            else
                snprintf(limit, sizeof limit, "this process's allows down to %ld", floor);
            snprintf(err, errlen,
                     "cannot set the engine thread's nice value to %d: %s (a nice value below the current one "
                     "needs CAP_SYS_NICE, or an RLIMIT_NICE (ulimit -e) that allows it: %s)",
                     nice, strerror(errnum), limit);
        }
        return errnum == EPERM || errnum == EACCES ? FERRY_E_PERMISSION : FERRY_E_INVALID;
    }
    return 0;
}

int ferry_engine_get_nice(ferry_engine *e, int *nice)
{
    if (!e || !nice)
        return FERRY_E_INVALID;
    if (atomic_load(&e->joined))
        return FERRY_E_CLOSED;
    errno = 0;
    int v = getpriority(PRIO_PROCESS, (id_t)e->tid); /* -1 is a valid value: errno tells */
    if (errno != 0)
        return FERRY_E_CLOSED;
    *nice = v;
    return 0;
}

int64_t ferry_engine_cpu_ns(ferry_engine *e)
{
    if (!e || !e->cpu_clock_ok || atomic_load(&e->joined))
        return -1;
    struct timespec ts;
    if (clock_gettime(e->cpu_clock, &ts) != 0)
        return -1;
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}
