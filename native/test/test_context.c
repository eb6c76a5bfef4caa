/*
 * test_context.c: execution contexts (ferry.h, "Execution contexts") driven through the ring exactly as
 * Java drives them: every call is claimed, filled, given its context id in slot.ctx and published; the
 * system ops get the byte encodings ferry.h documents.
 *
 *   systemic            FERRY_SYSTEM_CONTEXT is index 0 generation 1; a ring_req with ctx 0 means it
 *   isolation           the same name in the systemic context and two user contexts: i64, f64, string
 *                       and bytes values; var_get and var_add see each context's own; a name set in one
 *                       is NOT_FOUND in the others; overwrite with another type; unset
 *   var_edges           name lengths (1..4096), unknown types, empty and 1 MB values, var_get without a
 *                       name, var_add of a non-integer
 *   frozen              snapshots taken at creation: parent changes do not reach the child; the child
 *                       cannot set or unset them; a missing frozen name fails the creation; the child sees
 *                       no unfrozen parent variable; grandchildren; the parent closed under the child
 *   permissions         read-only contexts refuse MUTATES ops (counter, order) and nothing runs; op sets;
 *                       system ops are exempt; children inherit read-only and intersect op sets; op ids
 *                       out of range fail the creation
 *   malformed_create    truncated and inconsistent ctx_create inputs fail FERRY_E_INVALID, take no index
 *                       and leave the engine working
 *   stale_and_forged    after ctx_close the old id fails FERRY_E_CONTEXT and touches nothing (not even a
 *                       new context at the same index); id 0, random ids, wrong generations; closing the
 *                       systemic context fails FERRY_E_INVALID
 *   scope_growth        5,000 variables in one scope, half unset, re-set; set/unset churn (tombstones);
 *                       1,000 names frozen into a child in one ctx_create
 *   many_contexts       2,000 contexts closed in random order and made again: every index is reused with a
 *                       new generation, old ids stay dead, new scopes are empty
 *   close_while_in_use  producer threads call in a context while the main thread closes it: every call
 *                       either sees the context whole or fails FERRY_E_CONTEXT, and never again succeeds
 *   stop_with_open      an engine stops with hundreds of open contexts, nested children, frozen copies,
 *                       op sets and a free list (ASan's leak check is the assertion); a new engine starts
 *                       with an empty systemic scope
 *
 *   engine_hooks        the example engine's context hooks (build/native/libferry_example.so; the test
 *                       exits 77 at the end if it is not built): open runs once per created context and
 *                       never for a failed creation, close once per closed context and never for a stale
 *                       or refused close; per-context engine data, the creator's engine flags and the
 *                       parent's data reach the open hook; the close hook frees every open context's data
 *                       at stop (ASan's leak check)
 *
 * Not covered: an open hook that refuses a context (the example engine only refuses when out of memory).
 */
#include "ferry_test.h"
#include "ring_client.h"
#include "ferry_internal.h" /* test_generation_exhausted reaches into the context table */

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdbool.h>

#define SYS FERRY_SYSTEM_CONTEXT
#define NO_OPS (-1) /* ctx_create without an op set (n_ops = FERRY_NO_OP_SET) */

static struct {
    int32_t create, close, set, get, unset;
    int32_t noop, add, echo, var_add, counter, order, echo_bytes;
    int32_t first_unknown; /* the first op id past the table */
} O;

/* ---- engine and calls ---------------------------------------------------------------------------- */

static int32_t op(ring *r, const char *name)
{
    int32_t id = ring_op(r, name);
    CHECK(id >= 0, "no op %s (%d)", name, id);
    return id;
}

static void start_plugin(ring *r, uint32_t capacity, const char *plugin, const char *symbol)
{
    char err[512] = "";
    int rc = ring_start(r, capacity, 1000000, plugin, symbol, NULL, err, sizeof err);
    CHECK(rc == 0, "ferry_engine_start(%s): %d %s", plugin, rc, err);
    r->hang_ns = ft_hang_ns();
    O.create = op(r, "ferry.ctx_create");
    O.close = op(r, "ferry.ctx_close");
    O.set = op(r, "ferry.var_set");
    O.get = op(r, "ferry.var_get");
    O.unset = op(r, "ferry.var_unset");
}

/* An engine with the test ops' plug-in. */
static void start(ring *r, uint32_t capacity)
{
    start_plugin(r, capacity, ft_testops(), FT_TESTOPS_INIT);
    O.noop = op(r, "noop");
    O.add = op(r, "add");
    O.echo = op(r, "echo");
    O.var_add = op(r, "var_add");
    O.counter = op(r, "counter");
    O.order = op(r, "order");
    O.echo_bytes = op(r, "echo_bytes");
    int32_t max = 0;
    const int32_t known[] = { O.create, O.close, O.set, O.get, O.unset, O.noop, O.add, O.echo, O.var_add, O.counter,
                              O.order, O.echo_bytes };
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
        max = known[i] > max ? known[i] : max;
    O.first_unknown = max + 1;
}

static void stop(ring *r)
{
    CHECK(ring_stop(r, ft_hang_ns()) == 0, "the engine did not stop");
}

/* One call in context ctx, written into the slot as Java writes it: slot.ctx is exactly ctx (0 stays 0;
 * ring_fill's "0 means systemic" convenience is undone). */
static void xcall(ring *r, uint64_t ctx, int32_t opid, int64_t a0, int64_t a1, bool has_input, const void *in,
                  size_t len, ring_res *res)
{
    uint64_t seq = 0;
    CHECK(ring_claim(r, &seq) == RING_OK, "claim: intake is closed");
    CHECK(ring_wait_free(r, seq, ring_now_ns() + r->hang_ns) == RING_OK, "slot of seq %llu never came free",
          (unsigned long long)seq);
    ring_req q = { .op = opid, .arg0 = a0, .arg1 = a1, .has_input = has_input, .in = in, .in_len = len };
    if (ring_fill(r, seq, &q) != RING_OK) {
        ring_publish(r, seq, FERRY_FLAG_GONE);
        FAIL("ferry_alloc(%zu) failed", len);
    }
    ring_slot(r, seq)->ctx = ctx;
    ring_publish(r, seq, 0);
    CHECK(ring_wait_done(r, seq, ring_now_ns() + r->hang_ns) == RING_OK, "op %d in context %#llx hung", opid,
          (unsigned long long)ctx);
    ring_take(r, seq, res);
}

static void call2(ring *r, uint64_t ctx, int32_t opid, int64_t a0, int64_t a1, ring_res *res)
{
    xcall(r, ctx, opid, a0, a1, false, NULL, 0, res);
}

static void check_ok(const ring_res *res, const char *what)
{
    CHECK(res->err == 0, "%s: err %d (%s)", what, res->err, res->out ? res->out : "no message");
}

/* A failed call: its code, and an ERROR output holding a NUL-terminated message of out_len bytes that
 * contains each given fragment. Frees res. */
static void check_error(ring_res *res, int32_t code, const char *what, const char *frag1, const char *frag2)
{
    CHECK(res->err == code, "%s: err %d, expected %d (message: %s)", what, res->err, code,
          res->out ? res->out : "(none)");
    CHECK(res->out_kind == FERRY_OUT_ERROR, "%s: out_kind %u, expected FERRY_OUT_ERROR", what, res->out_kind);
    CHECK(res->out != NULL && strlen(res->out) == res->out_len, "%s: no message, or one of the wrong length", what);
    CHECK(!frag1 || strstr(res->out, frag1), "%s: message '%s' lacks '%s'", what, res->out, frag1);
    CHECK(!frag2 || strstr(res->out, frag2), "%s: message '%s' lacks '%s'", what, res->out, frag2);
    ring_res_free(res);
}

/* add(2, 3) in ctx works: the engine is alive and the context usable. */
static void check_alive(ring *r, uint64_t ctx, const char *what)
{
    ring_res res;
    call2(r, ctx, O.add, 2, 3, &res);
    CHECK(res.err == 0 && res.result == 5, "%s: add(2, 3) gave err %d result %lld (%s)", what, res.err,
          (long long)res.result, res.out ? res.out : "");
    ring_res_free(&res);
}

/* ---- system op encodings ------------------------------------------------------------------------- */

static void bb_u32(bb *b, uint32_t v)
{
    unsigned char le[4] = { (unsigned char)v, (unsigned char)(v >> 8), (unsigned char)(v >> 16),
                            (unsigned char)(v >> 24) };
    bb_put(b, le, 4);
}

static void bb_name(bb *b, const char *s, size_t len)
{
    bb_u32(b, (uint32_t)len);
    bb_put(b, s, len);
}

static void bb_free(bb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ctx_create's input: u32 name_len, name, u32 n_freeze, names, u32 n_ops (or FERRY_NO_OP_SET), op ids. */
static void create_input(bb *b, const char *name, const char *const *freeze, int nfreeze, const int32_t *ops,
                         int nops)
{
    bb_name(b, name, strlen(name));
    bb_u32(b, (uint32_t)nfreeze);
    for (int i = 0; i < nfreeze; i++)
        bb_name(b, freeze[i], strlen(freeze[i]));
    if (nops < 0) {
        bb_u32(b, FERRY_NO_OP_SET);
    } else {
        bb_u32(b, (uint32_t)nops);
        for (int i = 0; i < nops; i++)
            bb_u32(b, (uint32_t)ops[i]);
    }
}

static void ctx_create_res(ring *r, uint64_t parent, uint64_t flags, const char *name, const char *const *freeze,
                           int nfreeze, const int32_t *ops, int nops, ring_res *res)
{
    bb b = { 0 };
    create_input(&b, name, freeze, nfreeze, ops, nops);
    xcall(r, parent, O.create, (int64_t)flags, 0, true, b.p, b.len, res);
    bb_free(&b);
}

static uint64_t ctx_new_full(ring *r, uint64_t parent, uint64_t flags, const char *name, const char *const *freeze,
                             int nfreeze, const int32_t *ops, int nops)
{
    ring_res res;
    ctx_create_res(r, parent, flags, name, freeze, nfreeze, ops, nops, &res);
    CHECK(res.err == 0, "ctx_create '%s' in %#llx: err %d (%s)", name, (unsigned long long)parent, res.err,
          res.out ? res.out : "no message");
    CHECK(res.out_kind == FERRY_OUT_NONE, "ctx_create returned bytes");
    uint64_t id = (uint64_t)res.result;
    CHECK((id >> 32) != 0, "ctx_create '%s' gave id %#llx with generation 0", name, (unsigned long long)id);
    CHECK(id != SYS && (uint32_t)id != 0, "ctx_create '%s' gave the systemic context's index: %#llx", name,
          (unsigned long long)id);
    ring_res_free(&res);
    return id;
}

static uint64_t ctx_new(ring *r, uint64_t parent, uint64_t flags, const char *name)
{
    return ctx_new_full(r, parent, flags, name, NULL, 0, NULL, NO_OPS);
}

static void ctx_close(ring *r, uint64_t id)
{
    ring_res res;
    call2(r, id, O.close, 0, 0, &res);
    CHECK(res.err == 0 && res.result == 0, "ctx_close %#llx: err %d result %lld (%s)", (unsigned long long)id, res.err,
          (long long)res.result, res.out ? res.out : "");
    ring_res_free(&res);
}

/* var_set's input: u32 name_len, name, then the value bytes for STRING and BYTES. */
static void var_set_res(ring *r, uint64_t ctx, uint32_t type, int64_t bits, const char *name, size_t name_len,
                        const void *val, size_t vlen, ring_res *res)
{
    bb b = { 0 };
    bb_name(&b, name, name_len);
    bb_put(&b, val, vlen);
    xcall(r, ctx, O.set, type, bits, true, b.p, b.len, res);
    bb_free(&b);
}

static void var_set_ok(ring *r, uint64_t ctx, uint32_t type, int64_t bits, const char *name, const void *val,
                       size_t vlen)
{
    ring_res res;
    var_set_res(r, ctx, type, bits, name, strlen(name), val, vlen, &res);
    CHECK(res.err == 0 && res.result == 0, "var_set %s in %#llx: err %d (%s)", name, (unsigned long long)ctx, res.err,
          res.out ? res.out : "");
    ring_res_free(&res);
}

static int64_t f64_bits(double d)
{
    int64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

static void set_i64(ring *r, uint64_t ctx, const char *name, int64_t v)
{
    var_set_ok(r, ctx, FERRY_VAR_I64, v, name, NULL, 0);
}

static void set_f64(ring *r, uint64_t ctx, const char *name, double v)
{
    var_set_ok(r, ctx, FERRY_VAR_F64, f64_bits(v), name, NULL, 0);
}

static void set_str(ring *r, uint64_t ctx, const char *name, const char *v)
{
    var_set_ok(r, ctx, FERRY_VAR_STRING, 0, name, v, strlen(v));
}

static void set_bytes(ring *r, uint64_t ctx, const char *name, const void *v, size_t len)
{
    var_set_ok(r, ctx, FERRY_VAR_BYTES, 0, name, v, len);
}

/* var_get's input is the bare name. */
static void var_get_res(ring *r, uint64_t ctx, const char *name, size_t name_len, ring_res *res)
{
    xcall(r, ctx, O.get, 0, 0, true, name, name_len, res);
}

static uint32_t rd_u32(const char *p)
{
    uint32_t v;
    memcpy(&v, p, 4);
    return v;
}

/* var_get succeeds with type and frozen flag, and the value bytes (8 for I64 and F64) equal val. */
static void expect_var(ring *r, uint64_t ctx, const char *name, uint32_t type, const void *val, size_t vlen,
                       uint32_t frozen, const char *what)
{
    ring_res res;
    var_get_res(r, ctx, name, strlen(name), &res);
    CHECK(res.err == 0, "%s: var_get %s in %#llx: err %d (%s)", what, name, (unsigned long long)ctx, res.err,
          res.out ? res.out : "");
    CHECK(res.out_kind == FERRY_OUT_BYTES && res.out && res.out_len == 8 + vlen,
          "%s: var_get %s: out_kind %u, %llu bytes, expected %zu", what, name, res.out_kind,
          (unsigned long long)res.out_len, 8 + vlen);
    CHECK(rd_u32(res.out) == type, "%s: var_get %s: type %u, expected %u", what, name, rd_u32(res.out), type);
    CHECK(rd_u32(res.out + 4) == frozen, "%s: var_get %s: frozen %u, expected %u", what, name, rd_u32(res.out + 4),
          frozen);
    CHECK(vlen == 0 || memcmp(res.out + 8, val, vlen) == 0, "%s: var_get %s: other value bytes", what, name);
    ring_res_free(&res);
}

static void expect_i64(ring *r, uint64_t ctx, const char *name, int64_t v, uint32_t frozen, const char *what)
{
    expect_var(r, ctx, name, FERRY_VAR_I64, &v, 8, frozen, what);
}

static void expect_f64(ring *r, uint64_t ctx, const char *name, double v, uint32_t frozen, const char *what)
{
    expect_var(r, ctx, name, FERRY_VAR_F64, &v, 8, frozen, what);
}

static void expect_str(ring *r, uint64_t ctx, const char *name, const char *v, uint32_t frozen, const char *what)
{
    expect_var(r, ctx, name, FERRY_VAR_STRING, v, strlen(v), frozen, what);
}

/* var_get fails FERRY_E_NOT_FOUND naming the variable. */
static void expect_missing(ring *r, uint64_t ctx, const char *name, const char *what)
{
    ring_res res;
    var_get_res(r, ctx, name, strlen(name), &res);
    check_error(&res, FERRY_E_NOT_FOUND, what, name, NULL);
}

static void var_add_res(ring *r, uint64_t ctx, const char *name, int64_t x, ring_res *res)
{
    xcall(r, ctx, O.var_add, x, 0, true, name, strlen(name), res);
}

static int64_t var_add(ring *r, uint64_t ctx, const char *name, int64_t x)
{
    ring_res res;
    var_add_res(r, ctx, name, x, &res);
    CHECK(res.err == 0, "var_add(%lld, %s) in %#llx: err %d (%s)", (long long)x, name, (unsigned long long)ctx,
          res.err, res.out ? res.out : "");
    ring_res_free(&res);
    return res.result;
}

/* var_unset: returns the result (1 removed, 0 absent); CHECKs success. */
static int64_t var_unset(ring *r, uint64_t ctx, const char *name)
{
    ring_res res;
    xcall(r, ctx, O.unset, 0, 0, true, name, strlen(name), &res);
    CHECK(res.err == 0, "var_unset %s in %#llx: err %d (%s)", name, (unsigned long long)ctx, res.err,
          res.out ? res.out : "");
    ring_res_free(&res);
    return res.result;
}

/* The engine-wide counter's value (counter(0) in the systemic context). */
static int64_t counter_value(ring *r)
{
    ring_res res;
    call2(r, SYS, O.counter, 0, 0, &res);
    check_ok(&res, "counter(0)");
    ring_res_free(&res);
    return res.result;
}

static uint64_t rng_state = UINT64_C(0x9e3779b97f4a7c15);

static uint64_t rnd(void)
{
    /* xorshift64* */
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(2685821657736338717);
}

static void shuffle(uint64_t *a, size_t n)
{
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rnd() % i);
        uint64_t t = a[i - 1];
        a[i - 1] = a[j];
        a[j] = t;
    }
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

/* ---- tests --------------------------------------------------------------------------------------- */

static void test_systemic(void)
{
    ft_test_name = "systemic";
    CHECK(SYS == ((UINT64_C(1) << 32) | 0), "FERRY_SYSTEM_CONTEXT is not index 0, generation 1");
    ring r;
    start(&r, 8);
    check_alive(&r, SYS, "explicit systemic id");
    /* The harness convention: a ring_req with ctx 0 runs in the systemic context. */
    set_i64(&r, SYS, "sysvar", 41);
    ring_req q = { .op = O.var_add, .arg0 = 1, .has_input = true, .in = "sysvar", .in_len = 6 };
    ring_res res;
    CHECK(ring_call(&r, &q, &res) == RING_OK, "ring_call");
    CHECK(res.err == 0 && res.result == 42, "var_add via a ring_req with ctx 0: err %d result %lld", res.err,
          (long long)res.result);
    ring_res_free(&res);
    stop(&r);
}

static void test_isolation(void)
{
    ft_test_name = "isolation";
    ring r;
    start(&r, 8);
    uint64_t a = ctx_new(&r, SYS, 0, "iso-a");
    uint64_t b = ctx_new(&r, SYS, 0, "iso-b");
    CHECK(a != b && (uint32_t)a != (uint32_t)b, "two open contexts share an index: %#llx %#llx",
          (unsigned long long)a, (unsigned long long)b);
    const uint64_t ctxs[3] = { SYS, a, b };
    const unsigned char bytes[3][6] = {
        { 0, 1, 2, 0, 0xff, 's' },
        { 0xfe, 0, 0, 0, 0, 'a' },
        { 'b', 0, 0x80, 1, 2, 3 },
    };
    const char *strs[3] = { "systemic value", "value of A", "B's \xc3\xa9 value" };
    const int64_t ints[3] = { 100, -200, INT64_MAX };
    const double dbls[3] = { 1.5, -0.0, 6.02214076e23 };
    for (int i = 0; i < 3; i++) {
        set_i64(&r, ctxs[i], "n", ints[i]);
        set_f64(&r, ctxs[i], "x", dbls[i]);
        set_str(&r, ctxs[i], "s", strs[i]);
        set_bytes(&r, ctxs[i], "b", bytes[i], sizeof bytes[i]);
    }
    set_i64(&r, a, "only-a", 7);
    for (int i = 0; i < 3; i++) {
        char what[64];
        snprintf(what, sizeof what, "context %d", i);
        expect_i64(&r, ctxs[i], "n", ints[i], 0, what);
        expect_f64(&r, ctxs[i], "x", dbls[i], 0, what);
        expect_str(&r, ctxs[i], "s", strs[i], 0, what);
        expect_var(&r, ctxs[i], "b", FERRY_VAR_BYTES, bytes[i], sizeof bytes[i], 0, what);
        CHECK(var_add(&r, ctxs[i], "n", 1) == (int64_t)((uint64_t)ints[i] + 1), "%s: var_add(1, n)", what);
    }
    expect_i64(&r, a, "only-a", 7, 0, "only-a in A");
    expect_missing(&r, b, "only-a", "only-a in B");
    expect_missing(&r, SYS, "only-a", "only-a in the systemic context");
    ring_res res;
    var_add_res(&r, b, "only-a", 1, &res);
    check_error(&res, FERRY_E_NOT_FOUND, "var_add(only-a) in B", "only-a", "iso-b");
    var_add_res(&r, SYS, "only-a", 1, &res);
    check_error(&res, FERRY_E_NOT_FOUND, "var_add(only-a) in the systemic context", "only-a", NULL);
    /* A context made after the systemic one has variables starts empty: nothing is inherited. */
    uint64_t c = ctx_new(&r, SYS, 0, "iso-c");
    expect_missing(&r, c, "n", "n in a fresh context");
    expect_missing(&r, c, "s", "s in a fresh context");

    /* Overwrite with another type in A only; var_add then refuses it; the others are untouched. */
    set_str(&r, a, "n", "no longer a number");
    expect_str(&r, a, "n", "no longer a number", 0, "n in A after the overwrite");
    var_add_res(&r, a, "n", 1, &res);
    check_error(&res, EINVAL, "var_add of a string", "n", NULL);
    set_i64(&r, a, "s", -5);
    CHECK(var_add(&r, a, "s", 10) == 5, "var_add(10, s) after s became an integer");
    expect_i64(&r, b, "n", ints[2], 0, "n in B after A's overwrite");
    expect_i64(&r, SYS, "n", ints[0], 0, "n in the systemic context after A's overwrite");
    expect_str(&r, b, "s", strs[2], 0, "s in B after A's overwrite");

    /* Unset in B: 1, then 0; gone from B only. */
    CHECK(var_unset(&r, b, "x") == 1, "unset x in B");
    CHECK(var_unset(&r, b, "x") == 0, "unset x in B twice");
    CHECK(var_unset(&r, b, "never-set") == 0, "unset of a name never set");
    expect_missing(&r, b, "x", "x in B after unset");
    expect_f64(&r, a, "x", dbls[1], 0, "x in A after B's unset");
    expect_f64(&r, SYS, "x", dbls[0], 0, "x in the systemic context after B's unset");
    set_f64(&r, b, "x", 2.25);
    expect_f64(&r, b, "x", 2.25, 0, "x in B set again");
    stop(&r);
}

static void test_var_edges(void)
{
    ft_test_name = "var_edges";
    ring r;
    start(&r, 8);
    uint64_t v = ctx_new(&r, SYS, 0, "edges");
    ring_res res;
    /* Names of 1 and 4096 bytes; 0, 4097 and names with NUL are refused. */
    char *longname = malloc(4098);
    CHECK(longname != NULL, "malloc");
    memset(longname, 'n', 4097);
    longname[4096] = '\0';
    set_i64(&r, v, "z", 1);
    set_i64(&r, v, longname, 4096);
    expect_i64(&r, v, longname, 4096, 0, "a 4096-byte name");
    CHECK(var_unset(&r, v, longname) == 1, "unset of a 4096-byte name");
    longname[4096] = 'n';
    longname[4097] = '\0';
    var_set_res(&r, v, FERRY_VAR_I64, 1, longname, 4097, NULL, 0, &res);
    check_error(&res, FERRY_E_INVALID, "var_set with a 4097-byte name", NULL, NULL);
    var_get_res(&r, v, longname, 4097, &res);
    check_error(&res, FERRY_E_INVALID, "var_get with a 4097-byte name", NULL, NULL);
    free(longname);
    var_set_res(&r, v, FERRY_VAR_I64, 1, "", 0, NULL, 0, &res);
    check_error(&res, FERRY_E_INVALID, "var_set with an empty name", NULL, NULL);
    var_set_res(&r, v, FERRY_VAR_I64, 1, "a\0b", 3, NULL, 0, &res);
    check_error(&res, FERRY_E_INVALID, "var_set with a NUL in the name", NULL, NULL);
    var_get_res(&r, v, "", 0, &res);
    check_error(&res, FERRY_E_INVALID, "var_get with an empty name", NULL, NULL);
    var_get_res(&r, v, "z\0", 2, &res);
    check_error(&res, FERRY_E_INVALID, "var_get with a NUL in the name", NULL, NULL);
    xcall(&r, v, O.unset, 0, 0, true, "", 0, &res);
    check_error(&res, FERRY_E_INVALID, "var_unset with an empty name", NULL, NULL);
    /* Name length prefix larger than the input. */
    bb b = { 0 };
    bb_u32(&b, 100);
    bb_put(&b, "short", 5);
    xcall(&r, v, O.set, FERRY_VAR_I64, 1, true, b.p, b.len, &res);
    check_error(&res, FERRY_E_INVALID, "var_set with a truncated name", NULL, NULL);
    xcall(&r, v, O.set, FERRY_VAR_I64, 1, true, b.p, 3, &res);
    check_error(&res, FERRY_E_INVALID, "var_set with a truncated length", NULL, NULL);
    bb_free(&b);
    /* Without input at all. */
    xcall(&r, v, O.set, FERRY_VAR_I64, 1, false, NULL, 0, &res);
    check_error(&res, FERRY_E_INVALID, "var_set without input", "input", NULL);
    xcall(&r, v, O.get, 0, 0, false, NULL, 0, &res);
    check_error(&res, FERRY_E_INVALID, "var_get without input", "input", NULL);

    /* Unknown types. */
    const int64_t bad_types[] = { 0, 5, 255, -1 };
    for (size_t i = 0; i < sizeof bad_types / sizeof bad_types[0]; i++) {
        var_set_res(&r, v, (uint32_t)bad_types[i], 1, "t", 1, NULL, 0, &res);
        check_error(&res, FERRY_E_INVALID, "var_set of an unknown type", "type", NULL);
    }
    expect_missing(&r, v, "t", "a variable whose set failed");

    /* Empty and large values; bytes with NULs keep their length. */
    set_str(&r, v, "empty-s", "");
    expect_str(&r, v, "empty-s", "", 0, "an empty string");
    set_bytes(&r, v, "empty-b", NULL, 0);
    expect_var(&r, v, "empty-b", FERRY_VAR_BYTES, NULL, 0, 0, "empty bytes");
    size_t big = 1u << 20;
    unsigned char *blob = malloc(big);
    CHECK(blob != NULL, "malloc");
    for (size_t i = 0; i < big; i++)
        blob[i] = (unsigned char)(i * 131 + (i >> 9));
    set_bytes(&r, v, "blob", blob, big);
    expect_var(&r, v, "blob", FERRY_VAR_BYTES, blob, big, 0, "a 1 MB value");
    set_bytes(&r, v, "blob", "xy", 2); /* a big value replaced by a small one (ASan: the big one is freed) */
    expect_var(&r, v, "blob", FERRY_VAR_BYTES, "xy", 2, 0, "blob replaced");
    free(blob);

    /* var_add: the name is the bare input; f64 and bytes are refused; the integer adds with wrap. */
    set_f64(&r, v, "f", 1.0);
    var_add_res(&r, v, "f", 1, &res);
    check_error(&res, EINVAL, "var_add of a double", "f", NULL);
    set_i64(&r, v, "max", INT64_MAX);
    CHECK(var_add(&r, v, "max", 1) == INT64_MIN, "var_add wraps");
    xcall(&r, v, O.var_add, 1, 0, true, "", 0, &res);
    check_error(&res, EINVAL, "var_add with an empty name", NULL, NULL);

    /* NaN and infinities travel bit for bit. */
    set_f64(&r, v, "inf", -__builtin_inf());
    expect_f64(&r, v, "inf", -__builtin_inf(), 0, "-inf");
    int64_t nan_bits = INT64_C(0x7ff8000000000abc);
    var_set_ok(&r, v, FERRY_VAR_F64, nan_bits, "nan", NULL, 0);
    expect_var(&r, v, "nan", FERRY_VAR_F64, &nan_bits, 8, 0, "a NaN with a payload");
    check_alive(&r, v, "after the edge cases");
    stop(&r);
}

static void test_frozen(void)
{
    ft_test_name = "frozen";
    ring r;
    start(&r, 8);
    uint64_t p = ctx_new(&r, SYS, 0, "frz-parent");
    set_i64(&r, p, "x", 1);
    set_i64(&r, p, "y", 99); /* not frozen: the child must not see it */
    set_str(&r, p, "greeting", "hello");
    set_bytes(&r, p, "raw", "\0\1\2", 3);
    set_f64(&r, p, "pi", 3.25);
    const char *freeze[] = { "x", "greeting", "raw", "pi" };
    uint64_t c = ctx_new_full(&r, p, 0, "frz-child", freeze, 4, NULL, NO_OPS);
    expect_i64(&r, c, "x", 1, 1, "frozen x in the child");
    expect_i64(&r, p, "x", 1, 0, "x in the parent is not frozen there");
    expect_str(&r, c, "greeting", "hello", 1, "frozen string");
    expect_var(&r, c, "raw", FERRY_VAR_BYTES, "\0\1\2", 3, 1, "frozen bytes");
    expect_f64(&r, c, "pi", 3.25, 1, "frozen double");
    CHECK(var_add(&r, c, "x", 10) == 11, "var_add reads a frozen variable");
    expect_missing(&r, c, "y", "an unfrozen parent variable in the child");

    /* The parent changes: the child keeps its snapshot. */
    set_i64(&r, p, "x", 2);
    set_str(&r, p, "greeting", "bye");
    CHECK(var_unset(&r, p, "raw") == 1, "unset raw in the parent");
    expect_i64(&r, p, "x", 2, 0, "x in the parent after the change");
    expect_i64(&r, c, "x", 1, 1, "x in the child after the parent changed it");
    expect_str(&r, c, "greeting", "hello", 1, "greeting in the child after the parent changed it");
    expect_var(&r, c, "raw", FERRY_VAR_BYTES, "\0\1\2", 3, 1, "raw in the child after the parent removed it");

    /* The child cannot change or remove a frozen variable, in any type. */
    ring_res res;
    var_set_res(&r, c, FERRY_VAR_I64, 5, "x", 1, NULL, 0, &res);
    check_error(&res, FERRY_E_FROZEN, "var_set of frozen x", "'x'", "frz-child");
    var_set_res(&r, c, FERRY_VAR_STRING, 0, "x", 1, "str", 3, &res);
    check_error(&res, FERRY_E_FROZEN, "var_set of frozen x as a string", "'x'", NULL);
    xcall(&r, c, O.unset, 0, 0, true, "x", 1, &res);
    check_error(&res, FERRY_E_FROZEN, "var_unset of frozen x", "'x'", "frz-child");
    xcall(&r, c, O.unset, 0, 0, true, "greeting", 8, &res);
    check_error(&res, FERRY_E_FROZEN, "var_unset of frozen greeting", "greeting", NULL);
    expect_i64(&r, c, "x", 1, 1, "x in the child after refused changes");
    expect_str(&r, c, "greeting", "hello", 1, "greeting in the child after a refused unset");
    expect_i64(&r, p, "x", 2, 0, "the parent's x after the child's refused changes");

    /* The child's own variables are its own; y in the child does not reach the parent. */
    set_i64(&r, c, "y", -1);
    CHECK(var_unset(&r, c, "y") == 1, "unset the child's own y");
    set_i64(&r, c, "y", -2);
    expect_i64(&r, c, "y", -2, 0, "the child's own y");
    expect_i64(&r, p, "y", 99, 0, "the parent's y");

    /* A frozen name the parent lacks fails the creation with NOT_FOUND naming the variable. */
    const char *missing[] = { "x", "no_such_var" };
    ctx_create_res(&r, p, 0, "frz-bad", missing, 2, NULL, NO_OPS, &res);
    CHECK(res.result == 0, "a failed ctx_create returned an id");
    check_error(&res, FERRY_E_NOT_FOUND, "freeze of a missing variable", "no_such_var", NULL);
    /* The child's own variable is not a parent variable of the systemic context. */
    const char *only_y[] = { "y" };
    ctx_create_res(&r, SYS, 0, "frz-bad2", only_y, 1, NULL, NO_OPS, &res);
    check_error(&res, FERRY_E_NOT_FOUND, "freeze of a name only other contexts have", "'y'", NULL);

    /* A grandchild: may freeze the child's frozen and own variables (frozen again), sees nothing else. */
    const char *gfreeze[] = { "x", "y" };
    uint64_t g = ctx_new_full(&r, c, 0, "frz-grandchild", gfreeze, 2, NULL, NO_OPS);
    expect_i64(&r, g, "x", 1, 1, "x in the grandchild");
    expect_i64(&r, g, "y", -2, 1, "y in the grandchild");
    expect_missing(&r, g, "greeting", "an unfrozen child variable in the grandchild");
    uint64_t g2 = ctx_new(&r, c, 0, "frz-grandchild-2");
    expect_missing(&r, g2, "x", "a frozen child variable not frozen again");

    /* The same name frozen twice is one frozen variable. */
    const char *twice[] = { "x", "x" };
    uint64_t t = ctx_new_full(&r, p, 0, "frz-twice", twice, 2, NULL, NO_OPS);
    expect_i64(&r, t, "x", 2, 1, "x frozen twice");

    /* The parent closes: the child and grandchild keep their snapshots. */
    ctx_close(&r, p);
    expect_i64(&r, c, "x", 1, 1, "x in the child after the parent closed");
    expect_str(&r, c, "greeting", "hello", 1, "greeting in the child after the parent closed");
    expect_i64(&r, g, "y", -2, 1, "y in the grandchild after the parent closed");
    ctx_close(&r, c);
    expect_i64(&r, g, "x", 1, 1, "x in the grandchild after the child closed");
    stop(&r);
}

static void test_permissions(void)
{
    ft_test_name = "permissions";
    ring r;
    start(&r, 8);
    ring_res res;
    int64_t counter0 = counter_value(&r);

    /* Read-only: MUTATES ops are refused and do not run; the rest, and system ops, run. */
    uint64_t ro = ctx_new(&r, SYS, FERRY_CTX_READ_ONLY, "ctx-readonly");
    call2(&r, ro, O.counter, 1000, 0, &res);
    check_error(&res, FERRY_E_DENIED, "counter in a read-only context", "'counter'", "ctx-readonly");
    call2(&r, ro, O.order, 7, 1, &res);
    check_error(&res, FERRY_E_DENIED, "order in a read-only context", "'order'", "ctx-readonly");
    CHECK(counter_value(&r) == counter0, "a refused counter call ran");
    call2(&r, SYS, O.order, 7, 1, &res); /* order(7, 1) would fail had the refused call run */
    check_ok(&res, "order(7, 1) in the systemic context after the refused one");
    check_alive(&r, ro, "add in a read-only context");
    call2(&r, ro, O.echo, 9, 0, &res);
    CHECK(res.err == 0 && res.result == 9, "echo in a read-only context: err %d", res.err);
    ring_res_free(&res);
    set_i64(&r, ro, "k", 5);
    expect_i64(&r, ro, "k", 5, 0, "var_get in a read-only context");
    CHECK(var_add(&r, ro, "k", 1) == 6, "var_add in a read-only context");
    CHECK(var_unset(&r, ro, "k") == 1, "var_unset in a read-only context");

    /* A child of a read-only context is read-only though it did not ask. */
    uint64_t ro_child = ctx_new(&r, ro, 0, "ctx-readonly-child");
    call2(&r, ro_child, O.counter, 1, 0, &res);
    check_error(&res, FERRY_E_DENIED, "counter in a child of a read-only context", "'counter'", "ctx-readonly-child");
    check_alive(&r, ro_child, "add in a child of a read-only context");
    /* Its op set cannot lift it either. */
    const int32_t just_counter[] = { O.counter };
    uint64_t ro_child2 = ctx_new_full(&r, ro, 0, "ctx-readonly-child-2", NULL, 0, just_counter, 1);
    call2(&r, ro_child2, O.counter, 1, 0, &res);
    check_error(&res, FERRY_E_DENIED, "counter in a read-only child whose op set has it", "read-only", NULL);
    /* A writable sibling next to them still mutates. */
    uint64_t rw = ctx_new(&r, SYS, 0, "ctx-writable");
    call2(&r, rw, O.counter, 3, 0, &res);
    CHECK(res.err == 0 && res.result == counter0 + 3, "counter in a writable context: err %d result %lld", res.err,
          (long long)res.result);
    ring_res_free(&res);

    /* An op set {add}: echo and counter are refused; add and system ops run. */
    const int32_t just_add[] = { O.add };
    uint64_t lim = ctx_new_full(&r, SYS, 0, "ctx-limited", NULL, 0, just_add, 1);
    call2(&r, lim, O.echo, 1, 0, &res);
    check_error(&res, FERRY_E_DENIED, "echo in a context limited to add", "'echo'", "ctx-limited");
    call2(&r, lim, O.counter, 1, 0, &res);
    check_error(&res, FERRY_E_DENIED, "counter in a context limited to add", "'counter'", "ctx-limited");
    var_add_res(&r, lim, "k", 1, &res); /* with input: refused before it runs, input freed (ASan) */
    check_error(&res, FERRY_E_DENIED, "var_add in a context limited to add", "'var_add'", NULL);
    check_alive(&r, lim, "add in a context limited to add");
    set_i64(&r, lim, "k", 1);
    expect_i64(&r, lim, "k", 1, 0, "var_get in a context limited to add");
    CHECK(var_unset(&r, lim, "k") == 1, "var_unset in a context limited to add");
    CHECK(counter_value(&r) == counter0 + 3, "a refused counter call ran");

    /* Children of lim: asking {add, echo} gives {add}; asking for no set inherits {add}. */
    const int32_t add_echo[] = { O.add, O.echo };
    uint64_t lc = ctx_new_full(&r, lim, 0, "ctx-limited-child", NULL, 0, add_echo, 2);
    call2(&r, lc, O.echo, 1, 0, &res);
    check_error(&res, FERRY_E_DENIED, "echo in a child that asked for it from a parent without it", "'echo'",
                "ctx-limited-child");
    check_alive(&r, lc, "add in the intersected child");
    uint64_t lc2 = ctx_new(&r, lim, 0, "ctx-limited-child-2");
    call2(&r, lc2, O.echo, 1, 0, &res);
    check_error(&res, FERRY_E_DENIED, "echo in a child that inherited {add}", "'echo'", NULL);
    check_alive(&r, lc2, "add in a child that inherited {add}");
    /* A grandchild through ctx_create in lc (a system op: allowed though not in the set). */
    uint64_t lcc = ctx_new_full(&r, lc, 0, "ctx-limited-grandchild", NULL, 0, add_echo, 2);
    call2(&r, lcc, O.echo, 1, 0, &res);
    check_error(&res, FERRY_E_DENIED, "echo in a grandchild", "'echo'", NULL);

    /* {add, echo, counter} narrowed by {echo, counter, noop} is {echo, counter}. */
    const int32_t three[] = { O.add, O.echo, O.counter };
    const int32_t other3[] = { O.echo, O.counter, O.noop };
    uint64_t wide = ctx_new_full(&r, SYS, 0, "ctx-three", NULL, 0, three, 3);
    uint64_t narrow = ctx_new_full(&r, wide, 0, "ctx-narrow", NULL, 0, other3, 3);
    call2(&r, narrow, O.noop, 0, 0, &res);
    check_error(&res, FERRY_E_DENIED, "noop: asked by the child, not in the parent", "'noop'", NULL);
    call2(&r, narrow, O.add, 1, 1, &res);
    check_error(&res, FERRY_E_DENIED, "add: in the parent, not asked by the child", "'add'", NULL);
    call2(&r, narrow, O.echo, 4, 0, &res);
    CHECK(res.err == 0 && res.result == 4, "echo in the narrowed child: err %d", res.err);
    ring_res_free(&res);
    call2(&r, narrow, O.counter, 0, 0, &res);
    CHECK(res.err == 0 && res.result == counter0 + 3, "counter in the narrowed child: err %d", res.err);
    ring_res_free(&res);

    /* Duplicate ids are fine; an empty set allows only system ops; a set of system ops only likewise. */
    const int32_t dup[] = { O.add, O.add, O.add };
    uint64_t d = ctx_new_full(&r, SYS, 0, "ctx-dup", NULL, 0, dup, 3);
    check_alive(&r, d, "add in a context whose set names add three times");
    call2(&r, d, O.echo, 1, 0, &res);
    check_error(&res, FERRY_E_DENIED, "echo in ctx-dup", NULL, NULL);
    uint64_t none = ctx_new_full(&r, SYS, 0, "ctx-empty-set", NULL, 0, NULL, 0);
    call2(&r, none, O.add, 1, 1, &res);
    check_error(&res, FERRY_E_DENIED, "add in a context with an empty op set", "'add'", "ctx-empty-set");
    call2(&r, none, O.noop, 0, 0, &res);
    check_error(&res, FERRY_E_DENIED, "noop in a context with an empty op set", NULL, NULL);
    set_str(&r, none, "s", "system ops still run");
    expect_str(&r, none, "s", "system ops still run", 0, "var_get in a context with an empty op set");
    uint64_t none_child = ctx_new_full(&r, none, 0, "ctx-empty-set-child", NULL, 0, just_add, 1);
    call2(&r, none_child, O.add, 1, 1, &res);
    check_error(&res, FERRY_E_DENIED, "add in a child of an empty op set", NULL, NULL);
    const int32_t sys_only[] = { O.get };
    uint64_t so = ctx_new_full(&r, SYS, 0, "ctx-system-only", NULL, 0, sys_only, 1);
    call2(&r, so, O.add, 1, 1, &res);
    check_error(&res, FERRY_E_DENIED, "add in a context whose set holds only var_get", NULL, NULL);
    set_i64(&r, so, "v", 1); /* var_set is not in the set, but system ops are exempt */
    ctx_close(&r, none_child);
    ctx_close(&r, none);

    /* Op ids out of range fail the creation, from an unlimited and from a limited parent alike. */
    const int32_t bad_ids[] = { -1, INT32_MIN, INT32_MAX, O.first_unknown, 100000, FERRY_OP_ABORT };
    /* Make sure first_unknown really is past the table. */
    call2(&r, SYS, O.first_unknown, 0, 0, &res);
    CHECK(res.err == FERRY_E_UNKNOWN_OP, "op id %d is not past the table", O.first_unknown);
    ring_res_free(&res);
    for (size_t i = 0; i < sizeof bad_ids / sizeof bad_ids[0]; i++) {
        char id[32], what[96];
        snprintf(id, sizeof id, "%d", bad_ids[i]);
        const int32_t set[] = { O.add, bad_ids[i] };
        snprintf(what, sizeof what, "op set with id %d", bad_ids[i]);
        ctx_create_res(&r, SYS, 0, "ctx-bad-ids", NULL, 0, set, 2, &res);
        check_error(&res, FERRY_E_INVALID, what, id, NULL);
        ctx_create_res(&r, lim, 0, "ctx-bad-ids", NULL, 0, set, 2, &res);
        check_error(&res, FERRY_E_INVALID, what, id, NULL);
    }
    check_alive(&r, SYS, "after refused op sets");
    CHECK(counter_value(&r) == counter0 + 3, "the counter moved");
    stop(&r);
}

/* One malformed ctx_create input. */
typedef struct bad_input {
    const char *what;
    bb in;
} bad_input;

static void test_malformed_create(void)
{
    ft_test_name = "malformed_create";
    ring r;
    start(&r, 8);
    ring_res res;
    set_i64(&r, SYS, "x", 1);
    const int32_t just_add[] = { O.add };
    uint64_t lim_ro = ctx_new_full(&r, SYS, FERRY_CTX_READ_ONLY, "malformed-parent", NULL, 0, just_add, 1);
    set_i64(&r, lim_ro, "x", 1); /* so that "n_freeze 2 with one name" fails on the missing name, not on x */
    /* An index that will be reused next: failures in between must not take it. */
    uint64_t probe = ctx_new(&r, SYS, 0, "probe");
    ctx_close(&r, probe);

    bad_input cases[24];
    int n = 0;
#define BAD(w) (cases[n].what = (w), memset(&cases[n].in, 0, sizeof(bb)), &cases[n++].in)
    bb *b;
    BAD("empty input");
    b = BAD("two bytes");
    bb_put(b, "\x04\x00", 2);
    b = BAD("name length only");
    bb_u32(b, 4);
    b = BAD("name cut short");
    bb_u32(b, 10);
    bb_put(b, "abc", 3);
    b = BAD("name length 0xffffffff");
    bb_u32(b, UINT32_MAX);
    bb_put(b, "abcdefgh", 8);
    b = BAD("zero-length name");
    bb_u32(b, 0);
    bb_u32(b, 0);
    bb_u32(b, FERRY_NO_OP_SET);
    b = BAD("name with a NUL");
    bb_name(b, "a\0b", 3);
    bb_u32(b, 0);
    bb_u32(b, FERRY_NO_OP_SET);
    b = BAD("name longer than 4096 bytes");
    {
        char *big = malloc(5000);
        CHECK(big != NULL, "malloc");
        memset(big, 'q', 5000);
        bb_name(b, big, 5000);
        free(big);
    }
    bb_u32(b, 0);
    bb_u32(b, FERRY_NO_OP_SET);
    b = BAD("no n_freeze");
    bb_name(b, "ok", 2);
    b = BAD("n_freeze 2 with one name");
    bb_name(b, "ok", 2);
    bb_u32(b, 2);
    bb_name(b, "x", 1);
    bb_u32(b, FERRY_NO_OP_SET);
    b = BAD("n_freeze 0xffffffff");
    bb_name(b, "ok", 2);
    bb_u32(b, UINT32_MAX);
    b = BAD("zero-length frozen name");
    bb_name(b, "ok", 2);
    bb_u32(b, 1);
    bb_u32(b, 0);
    bb_u32(b, FERRY_NO_OP_SET);
    b = BAD("frozen name with a NUL");
    bb_name(b, "ok", 2);
    bb_u32(b, 1);
    bb_name(b, "x\0", 2);
    bb_u32(b, FERRY_NO_OP_SET);
    b = BAD("no n_ops");
    bb_name(b, "ok", 2);
    bb_u32(b, 0);
    b = BAD("n_ops cut short");
    bb_name(b, "ok", 2);
    bb_u32(b, 0);
    bb_put(b, "\x01\x00", 2);
    b = BAD("n_ops 2 with one id");
    bb_name(b, "ok", 2);
    bb_u32(b, 0);
    bb_u32(b, 2);
    bb_u32(b, (uint32_t)O.add);
    b = BAD("n_ops 1 with two ids");
    bb_name(b, "ok", 2);
    bb_u32(b, 0);
    bb_u32(b, 1);
    bb_u32(b, (uint32_t)O.add);
    bb_u32(b, (uint32_t)O.add);
    b = BAD("n_ops 0 with trailing bytes");
    bb_name(b, "ok", 2);
    bb_u32(b, 0);
    bb_u32(b, 0);
    bb_put(b, "zz", 2);
    b = BAD("n_ops 1 with a partial id");
    bb_name(b, "ok", 2);
    bb_u32(b, 0);
    bb_u32(b, 1);
    bb_put(b, "\x01\x00\x00", 3);
    b = BAD("n_ops 0x40000001 (n_ops * 4 wraps in 32 bits)");
    bb_name(b, "ok", 2);
    bb_u32(b, 0);
    bb_u32(b, UINT32_C(0x40000001));
    bb_u32(b, (uint32_t)O.add);
    b = BAD("n_ops 0xfffffffe");
    bb_name(b, "ok", 2);
    bb_u32(b, 0);
    bb_u32(b, UINT32_MAX - 1);
    bb_u32(b, (uint32_t)O.add);
#undef BAD
    CHECK(n <= (int)(sizeof cases / sizeof cases[0]), "too many cases");
    /* From the systemic context and from a read-only, op-limited one (ctx_create is a system op). */
    const uint64_t parents[] = { SYS, lim_ro };
    for (int pi = 0; pi < 2; pi++) {
        uint64_t parent = parents[pi];
        for (int i = 0; i < n; i++) {
            xcall(&r, parent, O.create, 0, 0, true, cases[i].in.p, cases[i].in.len, &res);
            CHECK(res.result == 0, "%s: a failed ctx_create returned %lld", cases[i].what, (long long)res.result);
            check_error(&res, FERRY_E_INVALID, cases[i].what, NULL, NULL);
            check_alive(&r, SYS, cases[i].what);
        }
    }
    for (int i = 0; i < n; i++)
        bb_free(&cases[i].in);

    /* Without input at all (no HAS_INPUT flag). */
    xcall(&r, SYS, O.create, 0, 0, false, NULL, 0, &res);
    check_error(&res, FERRY_E_INVALID, "ctx_create without input", "input", NULL);

    /* No index was taken by the failures: the next context reuses the probe's index. */
    uint64_t next = ctx_new(&r, SYS, 0, "after-malformed");
    CHECK((uint32_t)next == (uint32_t)probe && next != probe,
          "after failed creations the next id is %#llx; the closed probe was %#llx", (unsigned long long)next,
          (unsigned long long)probe);
    expect_missing(&r, next, "x", "x in a context made after failures");
    expect_i64(&r, SYS, "x", 1, 0, "the systemic x after failures");
    stop(&r);
}

/* A call with a dead id fails FERRY_E_CONTEXT with a message naming the id. */
static void expect_dead(ring *r, uint64_t id, int32_t opid, bool with_input, const char *what)
{
    ring_res res;
    static const unsigned char in[] = { 1, 0, 0, 0, 'x', 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff };
    xcall(r, id, opid, 1, 2, with_input, in, sizeof in, &res);
    char hex[32];
    snprintf(hex, sizeof hex, "%llx", (unsigned long long)id);
    CHECK(res.result == 0, "%s: a failed call has result %lld", what, (long long)res.result);
    check_error(&res, FERRY_E_CONTEXT, what, hex, NULL);
}

static void test_stale_and_forged(void)
{
    ft_test_name = "stale_and_forged";
    ring r;
    start(&r, 8);
    ring_res res;
    int64_t counter0 = counter_value(&r);
    set_i64(&r, SYS, "v", 1);
    uint64_t a = ctx_new(&r, SYS, 0, "stale-a");
    uint64_t b = ctx_new(&r, SYS, 0, "stale-b");
    set_i64(&r, a, "v", 2);
    set_str(&r, a, "only-a", "a");
    set_i64(&r, b, "v", 3);
    ctx_close(&r, a);

    /* Every kind of call with the stale id fails, system ops and ops alike. */
    const struct {
        int32_t op;
        bool input;
        const char *what;
    } calls[] = {
        { O.set, true, "var_set with a closed id" },     { O.get, true, "var_get with a closed id" },
        { O.unset, true, "var_unset with a closed id" }, { O.var_add, true, "var_add with a closed id" },
        { O.add, false, "add with a closed id" },        { O.counter, false, "counter with a closed id" },
        { O.create, true, "ctx_create with a closed id" }, { O.close, false, "ctx_close of a closed id" },
        { O.echo_bytes, true, "echo_bytes with a closed id" },
    };
    for (size_t i = 0; i < sizeof calls / sizeof calls[0]; i++)
        expect_dead(&r, a, calls[i].op, calls[i].input, calls[i].what);
    CHECK(counter_value(&r) == counter0, "counter ran in a closed context");
    expect_i64(&r, SYS, "v", 1, 0, "the systemic v after calls with a closed id");
    expect_i64(&r, b, "v", 3, 0, "B's v after calls with a closed id");

    /* A new context takes A's index with another generation, and an empty scope. */
    uint64_t c = ctx_new(&r, SYS, 0, "stale-c");
    CHECK((uint32_t)c == (uint32_t)a, "the new context did not reuse the closed index: %#llx after %#llx",
          (unsigned long long)c, (unsigned long long)a);
    CHECK(c != a && (c >> 32) != (a >> 32), "the reused index kept its generation: %#llx", (unsigned long long)c);
    expect_missing(&r, c, "v", "v in the context at A's index");
    expect_missing(&r, c, "only-a", "only-a in the context at A's index");
    /* The stale id still touches nothing, though its index is live again. */
    var_set_res(&r, a, FERRY_VAR_I64, 77, "v", 1, NULL, 0, &res);
    check_error(&res, FERRY_E_CONTEXT, "var_set with A's id after C took its index", NULL, NULL);
    expect_dead(&r, a, O.close, false, "ctx_close with A's id after C took its index");
    expect_missing(&r, c, "v", "v in C after a stale var_set");
    check_alive(&r, c, "C after stale calls at its index");
    expect_i64(&r, b, "v", 3, 0, "B's v after stale calls");

    /* Forged ids: 0, the systemic index with other generations, live indexes with wrong generations,
     * indexes past the table, and random 64-bit values. */
    uint32_t bi = (uint32_t)b, bg = (uint32_t)(b >> 32);
    const uint64_t forged[] = {
        0,
        (uint64_t)2 << 32,
        (uint64_t)UINT32_MAX << 32,
        ((uint64_t)(bg + 1) << 32) | bi,
        ((uint64_t)(bg - 1) << 32) | bi,
        (uint64_t)bi,
        ((uint64_t)UINT32_MAX << 32) | bi,
        ((uint64_t)1 << 32) | 1000,
        ((uint64_t)1 << 32) | UINT32_MAX,
        ((uint64_t)1 << 32) | 3,
        UINT64_MAX,
        a,
    };
    for (size_t i = 0; i < sizeof forged / sizeof forged[0]; i++) {
        char what[96];
        snprintf(what, sizeof what, "var_set with forged id %#llx", (unsigned long long)forged[i]);
        expect_dead(&r, forged[i], O.set, true, what);
        snprintf(what, sizeof what, "add with forged id %#llx", (unsigned long long)forged[i]);
        expect_dead(&r, forged[i], O.add, false, what);
        snprintf(what, sizeof what, "ctx_close with forged id %#llx", (unsigned long long)forged[i]);
        expect_dead(&r, forged[i], O.close, false, what);
    }
    const uint64_t live[] = { SYS, b, c };
    for (int i = 0; i < 1000; i++) {
        uint64_t id = rnd();
        if (i % 4 == 1)
            id = (id & ~UINT64_C(0xffffffff)) | (rnd() % 4); /* a real index, a random generation */
        bool is_live = false;
        for (size_t k = 0; k < 3; k++)
            is_live |= id == live[k];
        if (is_live)
            continue;
        expect_dead(&r, id, (i & 1) ? O.get : O.counter, (i & 1) != 0, "a random id");
    }
    CHECK(counter_value(&r) == counter0, "counter ran with a forged id");
    expect_i64(&r, SYS, "v", 1, 0, "the systemic v after forged ids");
    expect_i64(&r, b, "v", 3, 0, "B's v after forged ids");
    expect_missing(&r, c, "v", "C after forged ids");
    expect_missing(&r, c, "x", "C after forged ids");

    /* The systemic context cannot be closed, by its own id or through ring_req's 0. */
    call2(&r, SYS, O.close, 0, 0, &res);
    check_error(&res, FERRY_E_INVALID, "closing the systemic context", "systemic", NULL);
    ring_req q = { .op = O.close };
    CHECK(ring_call(&r, &q, &res) == RING_OK, "ring_call");
    check_error(&res, FERRY_E_INVALID, "closing the systemic context through ctx 0", NULL, NULL);
    expect_i64(&r, SYS, "v", 1, 0, "the systemic v after refused closes");
    check_alive(&r, SYS, "the systemic context after refused closes");

    /* Closing B leaves C; closing C leaves nothing but the systemic context. */
    ctx_close(&r, b);
    expect_dead(&r, b, O.get, true, "var_get in B after its close");
    ctx_close(&r, c);
    expect_dead(&r, c, O.get, true, "var_get in C after its close");
    check_alive(&r, SYS, "the systemic context with every user context closed");
    stop(&r);
}

static void test_scope_growth(void)
{
    ft_test_name = "scope_growth";
    ring r;
    start(&r, 16);
    uint64_t g = ctx_new(&r, SYS, 0, "growth");
    uint64_t other = ctx_new(&r, SYS, 0, "growth-other");
    set_i64(&r, other, "var00042", -42);
    enum { N = 5000 };
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "var%05d", i);
        if (i % 3 == 0) {
            char val[32];
            snprintf(val, sizeof val, "value-%d", i);
            set_str(&r, g, name, val);
        } else {
            set_i64(&r, g, name, (int64_t)i * 7);
        }
    }
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "var%05d", i);
        if (i % 3 == 0) {
            char val[32];
            snprintf(val, sizeof val, "value-%d", i);
            expect_str(&r, g, name, val, 0, "first read");
        } else {
            expect_i64(&r, g, name, (int64_t)i * 7, 0, "first read");
        }
    }
    for (int i = 0; i < N; i += 2) {
        snprintf(name, sizeof name, "var%05d", i);
        CHECK(var_unset(&r, g, name) == 1, "unset %s", name);
    }
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "var%05d", i);
        if (i % 2 == 0)
            expect_missing(&r, g, name, "an unset variable");
        else if (i % 3 == 0)
            CHECK(var_unset(&r, g, name) == 1 && var_unset(&r, g, name) == 0, "unset %s", name);
        else
            CHECK(var_add(&r, g, name, 1) == (int64_t)i * 7 + 1, "var_add after half was unset: %s", name);
    }
    /* Re-set everything (into tombstones and empty buckets alike), with new values. */
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "var%05d", i);
        set_i64(&r, g, name, (int64_t)i * 11);
    }
    for (int i = N - 1; i >= 0; i--) {
        snprintf(name, sizeof name, "var%05d", i);
        expect_i64(&r, g, name, (int64_t)i * 11, 0, "after re-set");
    }
    /* Churn: set and unset fresh names, so that tombstones pile up and force rehashes at one size. */
    uint64_t ch = ctx_new(&r, SYS, 0, "churn");
    set_i64(&r, ch, "keep", 1);
    long cycles = ft_scaled(20000, 2000);
    for (long i = 0; i < cycles; i++) {
        snprintf(name, sizeof name, "churn%ld", i);
        set_i64(&r, ch, name, i);
        if (i % 1000 == 0)
            CHECK(var_add(&r, ch, name, 0) == i, "churn read");
        CHECK(var_unset(&r, ch, name) == 1, "churn unset %s", name);
    }
    expect_i64(&r, ch, "keep", 1, 0, "a variable that stayed through the churn");
    expect_missing(&r, ch, "churn0", "a churned variable");
    expect_i64(&r, other, "var00042", -42, 0, "the other context's variable");

    /* 1,000 names frozen into a child in one ctx_create. */
    enum { F = 1000 };
    char (*names)[16] = malloc(sizeof(*names) * F);
    const char **freeze = malloc(sizeof(*freeze) * F);
    CHECK(names && freeze, "malloc");
    for (int i = 0; i < F; i++) {
        snprintf(names[i], sizeof names[i], "var%05d", i * 5);
        freeze[i] = names[i];
    }
    uint64_t fc = ctx_new_full(&r, g, 0, "growth-frozen", freeze, F, NULL, NO_OPS);
    for (int i = 0; i < F; i++)
        expect_i64(&r, fc, names[i], (int64_t)i * 5 * 11, 1, "a frozen copy of a big scope");
    expect_missing(&r, fc, "var00001", "a name not frozen");
    free(names);
    free(freeze);
    stop(&r); /* with 5,000 + 1,000 variables still set: ASan checks they are freed */
}

static void test_many_contexts(void)
{
    ft_test_name = "many_contexts";
    ring r;
    start(&r, 16);
    enum { N = 2000 };
    uint64_t *ids = malloc(N * sizeof(uint64_t));
    uint64_t *order = malloc(N * sizeof(uint64_t));
    uint64_t *old_sorted = malloc(N * sizeof(uint64_t));
    uint64_t *idx_old = malloc(N * sizeof(uint64_t));
    uint64_t *idx_new = malloc(N * sizeof(uint64_t));
    CHECK(ids && order && old_sorted && idx_old && idx_new, "malloc");
    char name[32];
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "many-%d", i);
        ids[i] = ctx_new(&r, SYS, 0, name);
        set_i64(&r, ids[i], "k", i);
        idx_old[i] = (uint32_t)ids[i];
    }
    qsort(idx_old, N, sizeof(uint64_t), cmp_u64);
    for (int i = 1; i < N; i++)
        CHECK(idx_old[i] != idx_old[i - 1], "two open contexts share index %llu", (unsigned long long)idx_old[i]);
    memcpy(old_sorted, ids, N * sizeof(uint64_t));
    qsort(old_sorted, N, sizeof(uint64_t), cmp_u64);

    /* Close half in random order; the other half keep their own k. */
    for (int i = 0; i < N; i++)
        order[i] = (uint64_t)i;
    shuffle(order, N);
    for (int i = 0; i < N / 2; i++)
        ctx_close(&r, ids[order[i]]);
    for (int i = N / 2; i < N; i++)
        CHECK(var_add(&r, ids[order[i]], "k", 0) == (int64_t)order[i], "context %llu lost its k",
              (unsigned long long)order[i]);
    /* Half again: they take exactly the closed indexes. */
    uint64_t *fresh = malloc(N * sizeof(uint64_t));
    CHECK(fresh != NULL, "malloc");
    for (int i = 0; i < N / 2; i++) {
        snprintf(name, sizeof name, "many-again-%d", i);
        fresh[i] = ctx_new(&r, SYS, 0, name);
        idx_new[i] = (uint32_t)fresh[i];
        CHECK(!bsearch(&fresh[i], old_sorted, N, sizeof(uint64_t), cmp_u64), "id %#llx was issued twice",
              (unsigned long long)fresh[i]);
        expect_missing(&r, fresh[i], "k", "k in a context at a reused index");
    }
    for (int i = 0; i < N / 2; i++)
        order[i] = (uint32_t)ids[order[i]];
    qsort(order, N / 2, sizeof(uint64_t), cmp_u64);
    qsort(idx_new, N / 2, sizeof(uint64_t), cmp_u64);
    CHECK(memcmp(order, idx_new, (N / 2) * sizeof(uint64_t)) == 0,
          "the new contexts did not take exactly the closed indexes");

    /* Close everything in random order, then make N again: the table does not grow. The open ones are
     * the fresh ids and the first-round ids that still run calls. */
    int live_n = 0;
    for (int i = 0; i < N / 2; i++)
        order[live_n++] = fresh[i];
    for (int i = 0; i < N; i++) {
        ring_res res;
        call2(&r, ids[i], O.noop, 0, 0, &res);
        if (res.err == 0)
            order[live_n++] = ids[i];
        else
            CHECK(res.err == FERRY_E_CONTEXT, "noop in context %d: err %d", i, res.err);
        ring_res_free(&res);
    }
    CHECK(live_n == N, "%d contexts are open, expected %d", live_n, N);
    shuffle(order, N);
    for (int i = 0; i < N; i++)
        ctx_close(&r, order[i]);
    for (int i = 0; i < N; i++) {
        ring_res res;
        call2(&r, order[i], O.noop, 0, 0, &res);
        CHECK(res.err == FERRY_E_CONTEXT, "a closed context still runs calls: err %d", res.err);
        ring_res_free(&res);
    }
    qsort(order, N, sizeof(uint64_t), cmp_u64); /* every id ever issued that is now dead */
    for (int i = 0; i < N; i++) {
        snprintf(name, sizeof name, "many-third-%d", i);
        uint64_t id = ctx_new(&r, SYS, 0, name);
        CHECK(!bsearch(&id, order, N, sizeof(uint64_t), cmp_u64) &&
                  !bsearch(&id, old_sorted, N, sizeof(uint64_t), cmp_u64),
              "id %#llx was issued twice", (unsigned long long)id);
        idx_new[i] = (uint32_t)id;
        ids[i] = id;
        if (i % 100 == 0)
            expect_missing(&r, id, "k", "k in a context at a reused index");
    }
    qsort(idx_new, N, sizeof(uint64_t), cmp_u64);
    CHECK(memcmp(idx_old, idx_new, N * sizeof(uint64_t)) == 0,
          "after closing all %d contexts, %d new ones did not reuse exactly their indexes", N, N);
    for (int i = 0; i < N; i += 7)
        set_i64(&r, ids[i], "k", -i);
    for (int i = 0; i < N; i += 7)
        CHECK(var_add(&r, ids[i], "k", 0) == -i, "k of a third-round context");
    free(ids);
    free(order);
    free(old_sorted);
    free(idx_old);
    free(idx_new);
    free(fresh);
    stop(&r); /* N contexts still open */
}

/* ---- a context closed while producer threads use it --------------------------------------------- */

typedef struct user_arg {
    ring *r;
    uint64_t victim, bystander;
    int64_t base;
    _Atomic long *calls;
    _Atomic int *closed;
    int64_t seen_ok, seen_dead;
} user_arg;

static void *user_thread(void *p)
{
    user_arg *u = p;
    int64_t dead_streak = 0;
    for (int64_t i = 1;; i++) {
        uint64_t ctx = (i % 5 == 0) ? u->bystander : u->victim;
        ring_res res;
        xcall(u->r, ctx, O.var_add, i, 0, true, "k", 1, &res);
        if (ctx == u->bystander) {
            CHECK(res.err == 0 && res.result == 5000 + i, "the bystander context: err %d result %lld", res.err,
                  (long long)res.result);
        } else if (res.err == 0) {
            CHECK(dead_streak == 0, "context %#llx ran a call after it had failed one with FERRY_E_CONTEXT",
                  (unsigned long long)u->victim);
            CHECK(res.result == u->base + i, "var_add in the victim: %lld, expected %lld", (long long)res.result,
                  (long long)(u->base + i));
            u->seen_ok++;
        } else {
            CHECK(res.err == FERRY_E_CONTEXT, "a call racing ctx_close: err %d (%s)", res.err, res.out ? res.out : "");
            dead_streak++;
            u->seen_dead++;
        }
        ring_res_free(&res);
        atomic_fetch_add(u->calls, 1);
        if (dead_streak >= 50 && atomic_load(u->closed))
            return NULL;
        if (i > 10000000)
            FAIL("the victim context was never closed");
    }
}

static void test_close_while_in_use(void)
{
    ft_test_name = "close_while_in_use";
    ring r;
    start(&r, 64);
    enum { T = 4 };
    pthread_t th[T];
    user_arg args[T];
    _Atomic long calls = 0;
    _Atomic int closed = 0;
    uint64_t victim = ctx_new(&r, SYS, 0, "victim");
    uint64_t bystander = ctx_new(&r, SYS, 0, "bystander");
    set_i64(&r, victim, "k", 1000);
    set_i64(&r, bystander, "k", 5000);
    for (int t = 0; t < T; t++) {
        args[t] = (user_arg){ .r = &r, .victim = victim, .bystander = bystander, .base = 1000, .calls = &calls,
                              .closed = &closed };
        CHECK(pthread_create(&th[t], NULL, user_thread, &args[t]) == 0, "pthread_create");
    }
    int64_t deadline = ft_now_ns() + ft_hang_ns();
    while (atomic_load(&calls) < 400) {
        CHECK(ft_now_ns() < deadline, "the producers made no progress");
        sched_yield();
    }
    ctx_close(&r, victim);
    atomic_store(&closed, 1);
    uint64_t again = ctx_new(&r, SYS, 0, "victim-successor"); /* likely the victim's index: must stay apart */
    set_i64(&r, again, "k", -1);
    for (int t = 0; t < T; t++)
        CHECK(pthread_join(th[t], NULL) == 0, "pthread_join");
    int64_t ok = 0;
    for (int t = 0; t < T; t++)
        ok += args[t].seen_ok;
    CHECK(ok > 0, "no call ran in the victim before it closed");
    expect_i64(&r, again, "k", -1, 0, "the successor's k");
    expect_i64(&r, bystander, "k", 5000, 0, "the bystander's k");
    stop(&r);
}

/* ---- stop with open contexts -------------------------------------------------------------------- */

static void test_stop_with_open(void)
{
    ft_test_name = "stop_with_open";
    ring r;
    start(&r, 16);
    char name[48], val[64];
    unsigned char blob[1024];
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (unsigned char)(i * 7);
    for (int i = 0; i < 50; i++) {
        snprintf(name, sizeof name, "sys%d", i);
        set_str(&r, SYS, name, "systemic");
    }
    const int32_t ops[] = { O.add, O.echo, O.var_add };
    uint64_t prev = SYS;
    set_i64(&r, SYS, "chain", 0);
    for (int i = 0; i < 300; i++) {
        snprintf(name, sizeof name, "open-%d", i);
        uint64_t flags = (i % 4 == 0) ? FERRY_CTX_READ_ONLY : 0;
        uint64_t id = (i % 3 == 0) ? ctx_new_full(&r, SYS, flags, name, NULL, 0, ops, 3)
                                   : ctx_new(&r, SYS, flags, name);
        for (int k = 0; k < 5; k++) {
            char vn[16];
            snprintf(vn, sizeof vn, "v%d", k);
            snprintf(val, sizeof val, "context %d variable %d", i, k);
            set_str(&r, id, vn, val);
        }
        set_bytes(&r, id, "blob", blob, sizeof blob);
        set_i64(&r, id, "chain", i);
        if (i % 2 == 0) {
            const char *freeze[] = { "v0", "blob", "chain" };
            snprintf(name, sizeof name, "open-%d-child", i);
            uint64_t child = ctx_new_full(&r, id, 0, name, freeze, 3, ops, 2);
            set_str(&r, child, "own", "child's own");
        }
        if (i % 5 == 0)
            ctx_close(&r, id); /* a free list, and children whose parent is gone */
    }
    /* A chain of 60 generations, each freezing its parent's chain variable. */
    const char *chain[] = { "chain" };
    for (int i = 0; i < 60; i++) {
        snprintf(name, sizeof name, "chain-%d", i);
        uint64_t id = ctx_new_full(&r, prev, 0, name, chain, 1, NULL, NO_OPS);
        set_bytes(&r, id, "blob", blob, sizeof blob);
        prev = id;
    }
    expect_i64(&r, prev, "chain", 0, 1, "the end of the chain");
    stop(&r);

    /* A new engine starts with an empty systemic scope and its own ids. */
    start(&r, 8);
    expect_missing(&r, SYS, "sys0", "a systemic variable of the previous engine");
    uint64_t first = ctx_new(&r, SYS, 0, "fresh");
    expect_missing(&r, first, "v0", "a fresh engine's first context");
    stop(&r);
}

/* ---- the engine's context hooks (example engine) -------------------------------------------------- */

#define EXAMPLE_LIB "build/native/libferry_example.so"
#define EXAMPLE_CTX_INHERIT 0x100u /* example_engine.c: a context starts from its parent's tally */

static int32_t op_ctx_tally, op_open_contexts;

static int64_t open_contexts(ring *r)
{
    ring_res res;
    call2(r, SYS, op_open_contexts, 0, 0, &res);
    check_ok(&res, "example.open_contexts");
    ring_res_free(&res);
    return res.result;
}

static int64_t ctx_tally(ring *r, uint64_t ctx, int64_t n)
{
    ring_res res;
    call2(r, ctx, op_ctx_tally, n, 0, &res);
    CHECK(res.err == 0, "example.ctx_tally(%lld) in %#llx: err %d (%s)", (long long)n, (unsigned long long)ctx,
          res.err, res.out ? res.out : "");
    ring_res_free(&res);
    return res.result;
}

static void test_engine_hooks(void)
{
    ft_test_name = "engine_hooks";
    ring r;
    start_plugin(&r, 16, EXAMPLE_LIB, "example_engine_init");
    op_ctx_tally = op(&r, "example.ctx_tally");
    op_open_contexts = op(&r, "example.open_contexts");
    ring_res res;
    CHECK(open_contexts(&r) == 1, "the systemic context was not opened through the hook: %lld",
          (long long)open_contexts(&r));
    CHECK(ctx_tally(&r, SYS, 5) == 5, "the systemic context's tally");

    /* Each context has its own engine data; the creator's engine flag and the parent's data reach open. */
    uint64_t a = ctx_new(&r, SYS, 0, "hook-a");
    uint64_t inh = ctx_new(&r, SYS, EXAMPLE_CTX_INHERIT, "hook-inherits");
    CHECK(open_contexts(&r) == 3, "two creations, %lld open", (long long)open_contexts(&r));
    CHECK(ctx_tally(&r, a, 1) == 1, "a new context starts with its own tally");
    CHECK(ctx_tally(&r, inh, 2) == 7, "an inheriting context starts from its parent's tally");
    CHECK(ctx_tally(&r, SYS, 1) == 6, "the parent's tally is its own");
    /* Grandchildren inherit from their own parent; engine flags go with read-only. */
    uint64_t g = ctx_new(&r, inh, EXAMPLE_CTX_INHERIT | FERRY_CTX_READ_ONLY, "hook-grandchild");
    call2(&r, g, op_ctx_tally, 0, 0, &res); /* ctx_tally mutates: refused, and the hook's data untouched */
    check_error(&res, FERRY_E_DENIED, "example.ctx_tally in a read-only context", "example.ctx_tally",
                "hook-grandchild");
    uint64_t g2 = ctx_new(&r, g, EXAMPLE_CTX_INHERIT, "hook-grandchild-2"); /* read-only inherited */
    call2(&r, g2, op_ctx_tally, 0, 0, &res);
    check_error(&res, FERRY_E_DENIED, "example.ctx_tally in a child of a read-only context", NULL, NULL);
    uint64_t g3 = ctx_new(&r, inh, EXAMPLE_CTX_INHERIT, "hook-grandchild-3");
    CHECK(ctx_tally(&r, g3, 0) == 7, "a grandchild inherits its parent's tally, not the systemic one");
    CHECK(open_contexts(&r) == 6, "%lld open, expected 6", (long long)open_contexts(&r));

    /* Failed creations open nothing; stale and refused closes close nothing. */
    bb b = { 0 };
    bb_u32(&b, 0);
    xcall(&r, SYS, O.create, EXAMPLE_CTX_INHERIT, 0, true, b.p, b.len, &res);
    check_error(&res, FERRY_E_INVALID, "a malformed ctx_create", NULL, NULL);
    bb_free(&b);
    const char *missing[] = { "nope" };
    ctx_create_res(&r, SYS, 0, "hook-bad", missing, 1, NULL, NO_OPS, &res);
    check_error(&res, FERRY_E_NOT_FOUND, "ctx_create freezing a missing variable", "nope", NULL);
    const int32_t bad_set[] = { -5 };
    ctx_create_res(&r, SYS, 0, "hook-bad", NULL, 0, bad_set, 1, &res);
    check_error(&res, FERRY_E_INVALID, "ctx_create with a bad op id", NULL, NULL);
    CHECK(open_contexts(&r) == 6, "failed creations ran the open hook: %lld open", (long long)open_contexts(&r));
    ctx_close(&r, a);
    CHECK(open_contexts(&r) == 5, "a close did not run the close hook: %lld open", (long long)open_contexts(&r));
    expect_dead(&r, a, O.close, false, "closing a closed context");
    expect_dead(&r, a, op_ctx_tally, false, "example.ctx_tally in a closed context");
    expect_dead(&r, UINT64_MAX, O.close, false, "closing a forged id");
    call2(&r, SYS, O.close, 0, 0, &res);
    check_error(&res, FERRY_E_INVALID, "closing the systemic context", NULL, NULL);
    CHECK(open_contexts(&r) == 5, "a refused close ran the close hook: %lld open", (long long)open_contexts(&r));

    /* The index a reuses gets fresh engine data; closing a parent leaves its children's data alone. */
    uint64_t a2 = ctx_new(&r, SYS, 0, "hook-a-again");
    CHECK((uint32_t)a2 == (uint32_t)a && a2 != a, "expected a's index to be reused: %#llx after %#llx",
          (unsigned long long)a2, (unsigned long long)a);
    CHECK(ctx_tally(&r, a2, 0) == 0, "a context at a reused index saw its predecessor's engine data");
    ctx_close(&r, inh);
    CHECK(ctx_tally(&r, g3, 1) == 8, "a child's engine data after its parent closed");
    uint64_t g4 = ctx_new(&r, g3, EXAMPLE_CTX_INHERIT, "hook-great-grandchild");
    CHECK(ctx_tally(&r, g4, 0) == 8, "inheriting from a context whose parent closed");
    CHECK(open_contexts(&r) == 6, "%lld open, expected 6", (long long)open_contexts(&r));

    /* Many at once, closed in random order: the count comes back. */
    enum { M = 300 };
    uint64_t ids[M];
    char name[32];
    for (int i = 0; i < M; i++) {
        snprintf(name, sizeof name, "hook-many-%d", i);
        ids[i] = ctx_new(&r, i % 2 ? SYS : g3, i % 3 ? EXAMPLE_CTX_INHERIT : 0, name);
        CHECK(ctx_tally(&r, ids[i], i) == (i % 3 ? (i % 2 ? 6 : 8) : 0) + i, "tally of hook-many-%d", i);
    }
    CHECK(open_contexts(&r) == 6 + M, "%lld open, expected %d", (long long)open_contexts(&r), 6 + M);
    shuffle(ids, M);
    for (int i = 0; i < M / 2; i++)
        ctx_close(&r, ids[i]);
    CHECK(open_contexts(&r) == 6 + M / 2, "%lld open, expected %d", (long long)open_contexts(&r), 6 + M / 2);
    /* Stop with M / 2 + 6 contexts open: their close hooks free the engine's data (ASan's leak check). */
    stop(&r);
}

/* An index whose generation counter is used up retires: the id first issued there never comes back.
 * (Reaching 2^32 closes takes hours, so the counter is advanced through the engine's internals.) */
static void test_generation_exhausted(void)
{
    ft_test_name = "generation_exhausted";
    ring r;
    start(&r, 8);
    uint64_t first = ctx_new(&r, FERRY_SYSTEM_CONTEXT, 0, "first");
    uint32_t index = (uint32_t)first;
    ctx_close(&r, first);
    r.engine->contexts.items[index]->generation = UINT32_MAX;
    uint64_t last = ctx_new(&r, FERRY_SYSTEM_CONTEXT, 0, "last");
    CHECK((uint32_t)last == index && (last >> 32) == UINT32_MAX, "expected the last generation at index %u, got %#llx",
          index, (unsigned long long)last);
    ctx_close(&r, last);
    uint64_t next = ctx_new(&r, FERRY_SYSTEM_CONTEXT, 0, "next");
    CHECK((uint32_t)next != index, "an index with no generations left was reused: %#llx", (unsigned long long)next);
    int32_t add = op(&r, "add");
    ring_res res;
    call2(&r, first, add, 2, 3, &res);
    check_error(&res, FERRY_E_CONTEXT, "the first id at a retired index", NULL, NULL);
    call2(&r, last, add, 2, 3, &res);
    check_error(&res, FERRY_E_CONTEXT, "the last id at a retired index", NULL, NULL);
    ctx_close(&r, next);
    stop(&r);
}

int main(void)
{
    const char *seed = getenv("FERRY_TEST_SEED");
    if (seed && *seed)
        rng_state = strtoull(seed, NULL, 0) | 1;
    struct {
        const char *name;
        void (*fn)(void);
    } tests[] = {
        { "systemic", test_systemic },
        { "isolation", test_isolation },
        { "var_edges", test_var_edges },
        { "frozen", test_frozen },
        { "permissions", test_permissions },
        { "malformed_create", test_malformed_create },
        { "stale_and_forged", test_stale_and_forged },
        { "scope_growth", test_scope_growth },
        { "many_contexts", test_many_contexts },
        { "close_while_in_use", test_close_while_in_use },
        { "stop_with_open", test_stop_with_open },
        { "generation_exhausted", test_generation_exhausted },
    };
    const int n = (int)(sizeof tests / sizeof tests[0]);
    for (int i = 0; i < n; i++) {
        int64_t t0 = ft_now_ns();
        tests[i].fn();
        ft_case_done(tests[i].name, t0);
    }
    if (access(EXAMPLE_LIB, R_OK) != 0) {
        fprintf(stderr, "test_context: skipping the engine hook tests: %s is not built (make native)\n",
                EXAMPLE_LIB);
        return 77;
    }
    int64_t t0 = ft_now_ns();
    test_engine_hooks();
    ft_case_done("engine_hooks", t0);
    printf("test_context: %d tests passed\n", n + 1);
    return 0;
}
