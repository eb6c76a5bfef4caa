/*
 * example_engine.c: a user's own engine, built as its own shared library and loaded by Ferry at start.
 *
 * Ferry dlopens the library on the engine thread and calls its init function there, so everything the
 * engine creates belongs to that one thread. This one keeps a tally (state only the engine thread
 * touches) and offers three ops:
 *
 *   example.greet  (text)    -> "hello, <text>"
 *   example.tally  (n)       -> the running total after adding n      (mutates engine state)
 *   example.mul    (a, b)    -> a * b
 *   example.callback (fn, x) -> calls the C function pointer fn(x) on the engine thread and returns its
 *                               result: how a host-language callback (an FFM upcall) runs on the engine
 *   example.ctx_tally (n)    -> like example.tally, but one tally per execution context: state an
 *                               engine keeps per context through ferry_registry_on_context
 *   example.block (ns)       -> 1 if a cancel stopped it, 0 if ns passed first: an op blocked inside
 *                               native code, which only its cancel hook can stop (ferry_engine_cancel;
 *                               it reads ferry_call_cancelled once, at its start, never while blocked)
 */
#include "ferry.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef struct example_state {
    int64_t tally;
    int open_contexts;
    _Atomic uint64_t interrupts; /* bumped by the cancel hook, from the cancelling thread */
} example_state;

static int greet(ferry_call *c, void *data)
{
    (void)data;
    size_t len;
    const char *name = ferry_call_input(c, &len);
    char *out = ferry_call_output_buffer(c, len + 7);
    if (!out)
        return ferry_call_fail(c, 12, "example.greet: out of memory");
    memcpy(out, "hello, ", 7);
    memcpy(out + 7, name, len);
    return 0;
}

static int tally(ferry_call *c, void *data)
{
    example_state *st = data;
    st->tally += ferry_call_arg(c, 0);
    ferry_call_set_i64(c, st->tally);
    return 0;
}

static int mul(ferry_call *c, void *data)
{
    (void)data;
    ferry_call_set_i64(c, (int64_t)((uint64_t)ferry_call_arg(c, 0) * (uint64_t)ferry_call_arg(c, 1)));
    return 0;
}

static int callback(ferry_call *c, void *data)
{
    (void)data;
    int64_t (*fn)(int64_t) = (int64_t (*)(int64_t))(uintptr_t)ferry_call_arg(c, 0);
    if (!fn)
        return ferry_call_fail(c, 22, "example.callback: null function pointer");
    ferry_call_set_i64(c, fn(ferry_call_arg(c, 1)));
    return 0;
}

/* Per-context state: opened on the engine thread with each context, closed with it. A context made
 * with engine flag EXAMPLE_CTX_INHERIT starts from its parent's tally. */
#define EXAMPLE_CTX_INHERIT 0x100u

typedef struct example_ctx {
    int64_t tally;
} example_ctx;

static int ctx_open(const ferry_context_info *info, void **ctx_data, void *data, char *err, size_t errlen)
{
    int *open_count = data;
    example_ctx *x = calloc(1, sizeof(*x));
    if (!x) {
        snprintf(err, errlen, "example engine: out of memory for context %s", info->name);
        return 12;
    }
    if ((info->open_flags & EXAMPLE_CTX_INHERIT) && info->parent_data)
        x->tally = ((example_ctx *)info->parent_data)->tally;
    *ctx_data = x;
    ++*open_count;
    return 0;
}

static void ctx_close(uint64_t id, void *ctx_data, void *data)
{
    (void)id;
    int *open_count = data;
    free(ctx_data);
    --*open_count;
}

static int ctx_tally(ferry_call *c, void *data)
{
    (void)data;
    example_ctx *x = ferry_call_context_data(c);
    x->tally += ferry_call_arg(c, 0);
    ferry_call_set_i64(c, x->tally);
    return 0;
}

static int open_contexts(ferry_call *c, void *data)
{
    ferry_call_set_i64(c, *(int *)data);
    return 0;
}

/* The cancel hook: like sqlite3_interrupt, it only raises a flag the blocked op watches. Release: pairs
 * with block's acquire loads. */
static void interrupt(void *data)
{
    example_state *st = data;
    atomic_fetch_add_explicit(&st->interrupts, 1, memory_order_release);
}

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* Waits until an interrupt arrives after the op started, or ns pass. An interrupt from before the op
 * started is not its own: like SQLite, which clears an interrupt when a statement starts. */
static int block(ferry_call *c, void *data)
{
    example_state *st = data;
    uint64_t seen = atomic_load_explicit(&st->interrupts, memory_order_acquire);
    int64_t ns = ferry_call_arg(c, 0), start = now_ns();
    int64_t cancelled = 0;
    /* A hook that ran after the call started but before the load above is not in `seen`, and the loop
     * would miss it. Every canceller sets the call's GONE before it runs the hook, and the hook's release
     * add pairs with that acquire load: so such a hook's call already reads cancelled here. (SQLite has
     * the same gap, an interrupt cleared when a statement starts; its progress handler closes it.) */
    if (ferry_call_cancelled(c)) {
        ferry_call_set_i64(c, 1);
        return 0;
    }
    for (uint32_t i = 1;; i++) {
        if (atomic_load_explicit(&st->interrupts, memory_order_acquire) != seen) {
            cancelled = 1;
            break;
        }
        if ((i & 63) == 0 && now_ns() - start >= ns)
            break;
    }
    ferry_call_set_i64(c, cancelled);
    return 0;
}

static void release(void *data)
{
    free(data);
}

/* The init function Ferry looks up by name. Runs on the engine thread. */
__attribute__((visibility("default"))) int example_engine_init(ferry_registry *reg)
{
    example_state *st = calloc(1, sizeof(*st));
    if (!st)
        return ferry_registry_fail(reg, 12, "example engine: out of memory");
    /* The cancel hook first: if on_close then fails, the engine never runs, so never cancels. */
    if (ferry_registry_on_cancel(reg, interrupt, st) != 0 || ferry_registry_on_close(reg, release, st) != 0) {
        free(st);
        return ferry_registry_fail(reg, 12, "example engine: out of memory");
    }
    if (ferry_register_op(reg, "example.greet", greet, NULL, FERRY_OP_IN_BYTES | FERRY_OP_OUT_BYTES | FERRY_OP_TEXT) < 0 ||
        ferry_register_op(reg, "example.tally", tally, st, FERRY_OP_MUTATES) < 0 ||
        ferry_register_op(reg, "example.mul", mul, NULL, 0) < 0 ||
        ferry_register_op(reg, "example.callback", callback, NULL, 0) < 0 ||
        ferry_register_op(reg, "example.ctx_tally", ctx_tally, NULL, FERRY_OP_MUTATES) < 0 ||
        ferry_register_op(reg, "example.open_contexts", open_contexts, &st->open_contexts, 0) < 0 ||
        ferry_register_op(reg, "example.block", block, st, 0) < 0 ||
        ferry_registry_on_context(reg, ctx_open, ctx_close, &st->open_contexts) != 0)
        return ferry_registry_fail(reg, -1, "example engine: cannot register its ops");
    return 0;
}

/* An init that fails, so tests can check that a failed init reaches Java as an exception. */
__attribute__((visibility("default"))) int example_engine_init_failing(ferry_registry *reg)
{
    return ferry_registry_fail(reg, 42, "example engine refuses to start: %s", "configured to fail");
}
