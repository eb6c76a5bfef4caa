/*
 * test_sqlite.c: the SQLite engine (native/sqlite, ferry_sqlite.h) driven through the ring as Java drives
 * it, ending every engine with things still open so that ASan's LeakSanitizer checks that stopping the
 * engine frees everything (make c-test-asan).
 *
 * The engine is loaded as a plugin from build/native/libferry_sqlite.so, as Java loads it: the copy of
 * ferry_sqlite.c linked into this executable is not reachable through dlsym (the executable exports only
 * ferry.h's API, which the plug-in's ferry_* calls bind to), so the engine under test is the built
 * library, not instrumented by ASan itself; its allocations (and SQLite's) still go through ASan's malloc,
 * so LeakSanitizer sees every leak. The test exits 77 if the library is not built, or is older than ferry_sqlite.c (run make native).
 * FERRY_TEST_SQLITE_LIB=path tests another build of the library (no age check).
 * Ferry_sqlite_open_connections/_statements are read from that library (its counters, not this copy's).
 *
 *   contexts_and_params  a shared user context, a private one, a read-only one, a child with a frozen
 *                        variable: which tables each sees; :name binds scope variables, explicit values
 *                        win; an unbound name fails naming it; a read-only write fails SQLITE_READONLY
 *   functions            a C dispatcher: integer (varargs), text, blob, float, NULL and error results;
 *                        registered on connections made before and after; argument types as encoded
 *   errors               syntax error: code 1, message, offset in the call's detail; UNIQUE: 2067
 *   batches              a failing third statement rolls all back and is named; a good batch's changes
 *   cache                statements cached per context up to cache=N; a closed context frees its
 *                        statements and its connection
 *   channels             sqlite.run reads a statement from a channel (sqlite.channel) and writes the
 *                        result over it; a result too large waits for sqlite.spill; bad ids, lengths
 *                        and input fail the call; a read-only context refuses writes through it too
 *   hardening            issue 14: no sqlite.dispatch op (the dispatcher is a C call), the plumbing ops
 *                        are FERRY_OP_INTERNAL, another context cannot take a context's spilled result,
 *                        and 70,000 sqlite.channel/sqlite.channel_close cycles never hit the 65,536 limit
 *   cancel               a timed-out call interrupts its own endless statement; the next call is prompt
 *   gave_up_reading      a call given up on its cell alone, after the engine looked at its slot: the op
 *                        stops reading its million values at the next look at the cancel flag
 *   interrupt            ferry_engine_cancel's hook alone (no GONE) interrupts an endless statement with
 *                        SQLITE_INTERRUPT; the connection runs the next statements
 *   stop_with_open       the engine stops with contexts, cached statements, a pending transaction, an
 *                        interrupted statement, registered functions and a result no one took from its
 *                        channel: every counter returns to its value before the start, the host frees
 *                        the channels, and LeakSanitizer finds nothing at exit
 *   fresh_engine         a second engine's in-memory database starts empty
 *   wal_anchor           a WAL file: queries see another connection's commits at once; a checkpoint
 *                        through the engine right after queries, and one from another connection a
 *                        few ticks after the queries stopped, both complete (the anchor let go); after
 *                        a switch to journal_mode=DELETE another connection writes without waiting;
 *                        the engine stops with the anchor holding, and nothing leaks
 */
#include "ferry_test.h"
#include "ring_client.h"
#include "ferry_sqlite.h"

#include <dirent.h>
#include <dlfcn.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define SQLITE_LIB "build/native/libferry_sqlite.so"
#define SQLITE_SRC "native/sqlite/ferry_sqlite.c"
#define SYS FERRY_SYSTEM_CONTEXT
#define CACHE_CAP 4
#define FOREVER                                                                                            \
    "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10000000000) SELECT count(*) FROM c"

static const char *sqlite_lib = SQLITE_LIB; /* FERRY_TEST_SQLITE_LIB overrides it */
static int64_t (*lib_connections)(void);
static int64_t (*lib_statements)(void);
static void (*lib_free)(void *);
static int (*lib_set_dispatcher)(ferry_sqlite_dispatch_fn);

static struct {
    int32_t exec, batch, function, create, close, set, channel, chan_close, run, spill;
} O;

/* ---- engine ------------------------------------------------------------------------------------- */

static int32_t op(ring *r, const char *name)
{
    int32_t id = ring_op(r, name);
    CHECK(id >= 0, "no op %s (%d)", name, id);
    return id;
}

/* ring_start with a configuration string (ring_start passes none). */
static void start(ring *r, const char *config)
{
    memset(r, 0, sizeof(*r));
    uint32_t capacity = 64;
    void *mem = aligned_alloc(FERRY_BLOCK, (size_t)ferry_region_size(capacity));
    CHECK(mem != NULL && ring_alloc_cells(r) == 0, "out of memory");
    char err[512] = "";
    int rc = ferry_engine_start(mem, capacity, 1000000, sqlite_lib, "ferry_sqlite_init", config, NULL, &r->engine,
                                err, sizeof err);
    CHECK(rc == 0, "ferry_engine_start(%s, '%s'): %d %s", sqlite_lib, config, rc, err);
    r->region = mem;
    r->capacity = capacity;
    r->mask = capacity - 1;
    r->hang_ns = ft_hang_ns();
    O.exec = op(r, "sqlite.exec");
    O.batch = op(r, "sqlite.batch");
    O.function = op(r, "sqlite.function");
    O.channel = op(r, "sqlite.channel");
    O.chan_close = op(r, "sqlite.channel_close");
    O.run = op(r, "sqlite.run");
    O.spill = op(r, "sqlite.spill");
    O.create = op(r, "ferry.ctx_create");
    O.close = op(r, "ferry.ctx_close");
    O.set = op(r, "ferry.var_set");
}

static void stop(ring *r)
{
    CHECK(ring_stop(r, ft_hang_ns()) == 0, "the engine did not stop");
}

/* ---- byte buffers ------------------------------------------------------------------------------- */

static void bb_u8(bb *b, uint8_t v)
{
    bb_put(b, &v, 1);
}

static void bb_u32(bb *b, uint32_t v)
{
    bb_put(b, &v, 4); /* x86-64 and aarch64 Linux: little-endian, as the encoding */
}

static void bb_i64(bb *b, int64_t v)
{
    bb_put(b, &v, 8);
}

static void bb_str(bb *b, const char *s)
{
    bb_u32(b, (uint32_t)strlen(s));
    bb_put(b, s, strlen(s));
}

static void bb_free(bb *b)
{
    free(b->p);
    memset(b, 0, sizeof *b);
}

/* ---- calls ---------------------------------------------------------------------------------------- */

static void xcall(ring *r, uint64_t ctx, int32_t opid, int64_t a0, const void *in, size_t len, bool has_input,
                  ring_res *res)
{
    ring_req q = { .op = opid, .ctx = ctx, .arg0 = a0, .has_input = has_input, .in = in, .in_len = len };
    int rc = ring_call(r, &q, res);
    CHECK(rc == RING_OK, "op %d in context %#llx: ring_call returned %d", opid, (unsigned long long)ctx, rc);
}

static uint64_t ctx_create(ring *r, uint64_t parent, uint32_t flags, const char *name, const char *freeze)
{
    bb b = { 0 };
    bb_str(&b, name);
    bb_u32(&b, freeze ? 1 : 0);
    if (freeze)
        bb_str(&b, freeze);
    bb_u32(&b, FERRY_NO_OP_SET);
    ring_res res;
    xcall(r, parent, O.create, flags, b.p, b.len, true, &res);
    bb_free(&b);
    CHECK(res.err == 0, "ctx_create %s: err %d (%s)", name, res.err, res.out ? res.out : "");
    uint64_t id = (uint64_t)res.result;
    ring_res_free(&res);
    return id;
}

static void ctx_close(ring *r, uint64_t ctx)
{
    ring_res res;
    xcall(r, ctx, O.close, 0, NULL, 0, false, &res);
    CHECK(res.err == 0, "ctx_close: err %d (%s)", res.err, res.out ? res.out : "");
    ring_res_free(&res);
}

static void set_var(ring *r, uint64_t ctx, const char *name, uint32_t type, int64_t bits, const char *text)
{
    bb b = { 0 };
    bb_str(&b, name);
    if (text)
        bb_put(&b, text, strlen(text));
    ring_req q = { .op = O.set, .ctx = ctx, .arg0 = type, .arg1 = bits, .has_input = true, .in = b.p, .in_len = b.len };
    ring_res res;
    CHECK(ring_call(r, &q, &res) == RING_OK, "var_set %s", name);
    bb_free(&b);
    CHECK(res.err == 0, "var_set %s: err %d (%s)", name, res.err, res.out ? res.out : "");
    ring_res_free(&res);
}

/* ---- statements and results --------------------------------------------------------------------- */

/* Parameters of one statement: the encoded params and their count. */
typedef struct params {
    bb b;
    uint32_t n;
} params;

static void p_head(params *p, const char *name, uint32_t index)
{
    bb_str(&p->b, name ? name : "");
    bb_u32(&p->b, index);
    p->n++;
}

static void p_int(params *p, const char *name, uint32_t index, int64_t v)
{
    p_head(p, name, index);
    bb_u8(&p->b, FERRY_SQLITE_INTEGER);
    bb_i64(&p->b, v);
}

static void p_f64(params *p, const char *name, uint32_t index, double v)
{
    p_head(p, name, index);
    bb_u8(&p->b, FERRY_SQLITE_FLOAT);
    bb_put(&p->b, &v, 8);
}

static void p_bytes(params *p, const char *name, uint32_t index, uint8_t type, const void *d, uint32_t len)
{
    p_head(p, name, index);
    bb_u8(&p->b, type);
    bb_u32(&p->b, len);
    bb_put(&p->b, d, len);
}

static void p_text(params *p, const char *name, uint32_t index, const char *s)
{
    p_bytes(p, name, index, FERRY_SQLITE_TEXT, s, (uint32_t)strlen(s));
}

static void p_null(params *p, const char *name, uint32_t index)
{
    p_head(p, name, index);
    bb_u8(&p->b, FERRY_SQLITE_NULL);
}

/* Appends one statement (frees p's buffer; p may be NULL). */
static void put_stmt(bb *out, const char *sql, params *p)
{
    bb_str(out, sql);
    bb_u32(out, p ? p->n : 0);
    if (p) {
        bb_put(out, p->b.p, p->b.len);
        bb_free(&p->b);
        p->n = 0;
    }
}

typedef struct val {
    uint8_t type;
    int64_t i;
    double d;
    const unsigned char *p; /* into the result's bytes */
    uint32_t len;
} val;

#define MAX_VALS 64

typedef struct result {
    ring_res raw;
    int64_t changes, rowid;
    uint32_t ncols, nvals;
    val v[MAX_VALS];
} result;

typedef struct rd {
    const unsigned char *p;
    size_t left;
} rd;

static const unsigned char *rd_take(rd *r, size_t n, const char *what)
{
    CHECK(r->left >= n, "result truncated reading %s", what);
    const unsigned char *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

static uint32_t rd_u32(rd *r)
{
    uint32_t v;
    memcpy(&v, rd_take(r, 4, "u32"), 4);
    return v;
}

static int64_t rd_i64(rd *r)
{
    int64_t v;
    memcpy(&v, rd_take(r, 8, "i64"), 8);
    return v;
}

static val rd_val(rd *r)
{
    val v = { 0 };
    v.type = *rd_take(r, 1, "type");
    switch (v.type) {
    case FERRY_SQLITE_INTEGER:
        v.i = rd_i64(r);
        break;
    case FERRY_SQLITE_FLOAT:
        memcpy(&v.d, rd_take(r, 8, "f64"), 8);
        break;
    case FERRY_SQLITE_TEXT:
    case FERRY_SQLITE_BLOB:
        v.len = rd_u32(r);
        v.p = rd_take(r, v.len, "bytes");
        break;
    case FERRY_SQLITE_NULL:
        break;
    default:
        FAIL("value type %u in a result", v.type);
    }
    return v;
}

static void decode(result *x)
{
    CHECK(x->raw.out_kind == FERRY_OUT_BYTES, "result kind %u", x->raw.out_kind);
    rd r = { (const unsigned char *)x->raw.out, (size_t)x->raw.out_len };
    x->changes = rd_i64(&r);
    x->rowid = rd_i64(&r);
    x->ncols = rd_u32(&r);
    for (uint32_t i = 0; i < x->ncols; i++)
        rd_take(&r, rd_u32(&r), "column name");
    x->nvals = 0;
    while (r.left > 0) {
        CHECK(x->nvals < MAX_VALS, "more than %d values in a result", MAX_VALS);
        x->v[x->nvals++] = rd_val(&r);
    }
    CHECK(x->ncols == 0 || x->nvals % x->ncols == 0, "%u values for %u columns", x->nvals, x->ncols);
}

static void exec_raw(ring *r, uint64_t ctx, const char *sql, params *p, ring_res *res)
{
    bb in = { 0 };
    put_stmt(&in, sql, p);
    xcall(r, ctx, O.exec, 0, in.p, in.len, true, res);
    bb_free(&in);
}

/* Runs sql in ctx and requires success; free with result_free. */
static void exec_ok(ring *r, uint64_t ctx, const char *sql, params *p, result *x)
{
    memset(x, 0, sizeof *x);
    exec_raw(r, ctx, sql, p, &x->raw);
    CHECK(x->raw.err == 0, "'%s' in %#llx: err %d (%s)", sql, (unsigned long long)ctx, x->raw.err,
          x->raw.out ? x->raw.out : "");
    decode(x);
}

static void result_free(result *x)
{
    ring_res_free(&x->raw);
}

static void exec_do(ring *r, uint64_t ctx, const char *sql)
{
    result x;
    exec_ok(r, ctx, sql, NULL, &x);
    result_free(&x);
}

/* The single integer a query returns. */
static int64_t exec_int(ring *r, uint64_t ctx, const char *sql, params *p)
{
    result x;
    exec_ok(r, ctx, sql, p, &x);
    CHECK(x.ncols == 1 && x.nvals == 1 && x.v[0].type == FERRY_SQLITE_INTEGER, "'%s': not one integer (%u cols, %u vals)",
          sql, x.ncols, x.nvals);
    int64_t v = x.v[0].i;
    result_free(&x);
    return v;
}

/* A failing call: err is code (or its primary code is primary when code < 0), the message holds frag.
 * Returns the call's detail (the error offset). Frees res. */
static int64_t check_fail(ring_res *res, int32_t code, const char *frag, const char *what)
{
    CHECK(res->err != 0, "%s: succeeded, expected error %d", what, code);
    CHECK(code >= 0 ? res->err == code : (res->err & 0xff) == -code, "%s: err %d, expected %d (%s)", what, res->err,
          code, res->out ? res->out : "");
    CHECK(res->out_kind == FERRY_OUT_ERROR && res->out, "%s: no error message", what);
    CHECK(!frag || strstr(res->out, frag), "%s: message '%s' lacks '%s'", what, res->out, frag);
    int64_t detail = res->result;
    ring_res_free(res);
    return detail;
}

static int64_t exec_fail(ring *r, uint64_t ctx, const char *sql, params *p, int32_t code, const char *frag)
{
    ring_res res;
    exec_raw(r, ctx, sql, p, &res);
    return check_fail(&res, code, frag, sql);
}

static int64_t connections(void)
{
    return lib_connections();
}

static int64_t statements(void)
{
    return lib_statements();
}

/* ---- the C function dispatcher ------------------------------------------------------------------ */

enum { FN_SUM, FN_CONCAT, FN_REV, FN_FAIL, FN_NULL, FN_HALF, FN_TYPES };

static pthread_t main_thread;
static _Atomic long dispatched;
static _Atomic int dispatched_on_main;

static void *dup_bytes(const void *d, size_t n)
{
    void *p = ferry_alloc(n);
    if (p && n)
        memcpy(p, d, n);
    return p;
}

static void dispatch(int32_t fn_id, const uint8_t *args, uint64_t args_len, int32_t n_args, ferry_sqlite_result *out)
{
    atomic_fetch_add(&dispatched, 1);
    if (pthread_equal(pthread_self(), main_thread))
        atomic_store(&dispatched_on_main, 1);
    rd r = { args, (size_t)args_len };
    val v[16];
    CHECK(n_args >= 0 && n_args <= 16, "dispatch: %d arguments", n_args);
    for (int i = 0; i < n_args; i++)
        v[i] = rd_val(&r);
    CHECK(r.left == 0, "dispatch: %zu bytes after %d arguments", r.left, n_args);
    char msg[128];
    switch (fn_id) {
    case FN_SUM: { /* varargs: the sum of the integer arguments */
        int64_t s = 0;
        for (int i = 0; i < n_args; i++)
            s += v[i].type == FERRY_SQLITE_INTEGER ? v[i].i : 0;
        out->type = FERRY_SQLITE_INTEGER;
        out->i64 = s;
        break;
    }
    case FN_CONCAT: { /* text || '+' || text */
        size_t a = v[0].len, b = v[1].len;
        char *p = ferry_alloc(a + 1 + b);
        CHECK(p != NULL, "ferry_alloc");
        memcpy(p, v[0].p, a);
        p[a] = '+';
        memcpy(p + a + 1, v[1].p, b);
        *out = (ferry_sqlite_result){ .type = FERRY_SQLITE_TEXT, .ptr = p, .len = a + 1 + b };
        break;
    }
    case FN_REV: { /* the blob reversed */
        unsigned char *p = dup_bytes(v[0].p, v[0].len);
        CHECK(p != NULL, "ferry_alloc");
        for (uint32_t i = 0; i < v[0].len / 2; i++) {
            unsigned char t = p[i];
            p[i] = p[v[0].len - 1 - i];
            p[v[0].len - 1 - i] = t;
        }
        *out = (ferry_sqlite_result){ .type = FERRY_SQLITE_BLOB, .ptr = p, .len = v[0].len };
        break;
    }
    case FN_FAIL: /* an error whose message the engine must free */
        snprintf(msg, sizeof msg, "c says no: %.*s", (int)v[0].len, (const char *)v[0].p);
        *out = (ferry_sqlite_result){ .type = FERRY_SQLITE_ERROR, .ptr = dup_bytes(msg, strlen(msg)), .len = strlen(msg) };
        break;
    case FN_NULL:
        out->type = FERRY_SQLITE_NULL;
        break;
    case FN_HALF:
        out->type = FERRY_SQLITE_FLOAT;
        out->f64 = (v[0].type == FERRY_SQLITE_INTEGER ? (double)v[0].i : v[0].d) / 2;
        break;
    case FN_TYPES: { /* the argument types as digits, e.g. "12345" */
        char t[17];
        for (int i = 0; i < n_args; i++)
            t[i] = (char)('0' + v[i].type);
        *out = (ferry_sqlite_result){ .type = FERRY_SQLITE_TEXT, .ptr = dup_bytes(t, (size_t)n_args), .len = (uint64_t)n_args };
        break;
    }
    default:
        snprintf(msg, sizeof msg, "no function %d", fn_id);
        *out = (ferry_sqlite_result){ .type = FERRY_SQLITE_ERROR, .ptr = dup_bytes(msg, strlen(msg)), .len = strlen(msg) };
    }
}

/* Through the library's C function, as Java does through FFM: no op takes a code address. */
static void install_dispatcher(ring *r)
{
    (void)r;
    CHECK_EQ_I64(lib_set_dispatcher(dispatch), 0, "ferry_sqlite_set_dispatcher");
    CHECK_EQ_I64(lib_set_dispatcher(dispatch), 0, "ferry_sqlite_set_dispatcher of the same function again");
}

static void create_function(ring *r, const char *name, int32_t id, int n_args, bool deterministic)
{
    bb b = { 0 };
    bb_put(&b, &id, 4);
    uint32_t flags = deterministic ? 1 : 0;
    bb_u32(&b, flags);
    bb_put(&b, name, strlen(name));
    ring_res res;
    xcall(r, SYS, O.function, n_args, b.p, b.len, true, &res);
    bb_free(&b);
    CHECK(res.err == 0, "sqlite.function %s: err %d (%s)", name, res.err, res.out ? res.out : "");
    ring_res_free(&res);
}

/* ---- the scenario ------------------------------------------------------------------------------- */

typedef struct world {
    ring r;
    uint64_t shared, priv, ro, frozen;
    unsigned char *chan[2]; /* channels: the engine made them, the host frees them after the stop */
    uint32_t chan_id[2];
} world;

static void test_contexts_and_params(world *w)
{
    ft_test_name = "contexts_and_params";
    ring *r = &w->r;
    exec_do(r, SYS, "CREATE TABLE t(id INTEGER PRIMARY KEY, name TEXT UNIQUE, score REAL, data BLOB)");
    params p = { 0 };
    p_int(&p, NULL, 1, 1);
    p_text(&p, NULL, 2, "one");
    p_f64(&p, NULL, 3, 1.5);
    p_bytes(&p, NULL, 4, FERRY_SQLITE_BLOB, "\x01\x02", 2);
    result x;
    exec_ok(r, SYS, "INSERT INTO t VALUES(?, ?, ?, ?)", &p, &x);
    CHECK_EQ_I64(x.changes, 1, "insert changes");
    CHECK_EQ_I64(x.rowid, 1, "insert rowid");
    result_free(&x);
    p_int(&p, NULL, 1, 2);
    p_text(&p, NULL, 2, "two");
    p_null(&p, NULL, 3);
    p_null(&p, NULL, 4);
    exec_ok(r, SYS, "INSERT INTO t VALUES(?, ?, ?, ?)", &p, &x);
    result_free(&x);

    exec_ok(r, SYS, "SELECT id, name, score, data FROM t ORDER BY id", NULL, &x);
    CHECK(x.ncols == 4 && x.nvals == 8, "select: %u cols, %u values", x.ncols, x.nvals);
    CHECK(x.v[0].i == 1 && x.v[1].len == 3 && memcmp(x.v[1].p, "one", 3) == 0 && x.v[2].d == 1.5 &&
              x.v[3].type == FERRY_SQLITE_BLOB && x.v[3].len == 2 && x.v[3].p[1] == 2,
          "row 1 did not round-trip");
    CHECK(x.v[6].type == FERRY_SQLITE_NULL && x.v[7].type == FERRY_SQLITE_NULL, "row 2's NULLs");
    result_free(&x);

    int64_t c = connections();
    w->shared = ctx_create(r, SYS, 0, "shared", NULL);
    w->priv = ctx_create(r, SYS, FERRY_SQLITE_PRIVATE, "private", NULL);
    w->ro = ctx_create(r, w->shared, FERRY_CTX_READ_ONLY, "read-only", NULL);
    CHECK_EQ_I64(connections(), c + 3, "a connection per context");

    /* Shared sees the table; private does not, and has its own. */
    CHECK_EQ_I64(exec_int(r, w->shared, "SELECT count(*) FROM t", NULL), 2, "shared count");
    exec_fail(r, w->priv, "SELECT count(*) FROM t", NULL, 1, "no such table: t");
    exec_do(r, w->priv, "CREATE TABLE only_private(x)");
    exec_fail(r, SYS, "SELECT * FROM only_private", NULL, 1, "no such table: only_private");
    exec_fail(r, w->shared, "SELECT * FROM only_private", NULL, 1, "no such table: only_private");

    /* Scope variables bind :name; a value with the call wins; an unbound name fails naming it. */
    set_var(r, w->shared, "n", FERRY_VAR_I64, 41, NULL);
    set_var(r, w->shared, "who", FERRY_VAR_STRING, 0, "shared's");
    CHECK_EQ_I64(exec_int(r, w->shared, "SELECT :n + 1", NULL), 42, ":n from the scope");
    p_int(&p, "n", 0, 99);
    CHECK_EQ_I64(exec_int(r, w->shared, "SELECT :n + 1", &p), 100, ":n given with the call");
    exec_ok(r, w->shared, "SELECT @who", NULL, &x);
    CHECK(x.nvals == 1 && x.v[0].type == FERRY_SQLITE_TEXT && x.v[0].len == 8 && memcmp(x.v[0].p, "shared's", 8) == 0,
          "@who from the scope");
    result_free(&x);
    exec_fail(r, SYS, "SELECT :n", NULL, -25, ":n");
    exec_fail(r, w->priv, "SELECT $who", NULL, -25, "$who");

    /* A frozen variable binds the snapshot. */
    w->frozen = ctx_create(r, w->shared, 0, "frozen", "n");
    set_var(r, w->shared, "n", FERRY_VAR_I64, 7, NULL);
    CHECK_EQ_I64(exec_int(r, w->frozen, "SELECT :n", NULL), 41, "frozen :n");
    CHECK_EQ_I64(exec_int(r, w->shared, "SELECT :n", NULL), 7, "the parent's :n after the change");

    /* Read-only: reads, and SQLite refuses the write. */
    CHECK_EQ_I64(exec_int(r, w->ro, "SELECT count(*) FROM t", NULL), 2, "read-only count");
    exec_fail(r, w->ro, "INSERT INTO t(id) VALUES(3)", NULL, -8, "readonly");
    CHECK_EQ_I64(exec_int(r, SYS, "SELECT count(*) FROM t", NULL), 2, "count after the refused write");
}

static void test_functions(world *w)
{
    ft_test_name = "functions";
    ring *r = &w->r;
    install_dispatcher(r);
    create_function(r, "c_sum", FN_SUM, -1, true);
    create_function(r, "c_concat", FN_CONCAT, 2, true);
    create_function(r, "c_rev", FN_REV, 1, true);
    create_function(r, "c_fail", FN_FAIL, 1, false);
    create_function(r, "c_null", FN_NULL, 0, false);
    create_function(r, "c_half", FN_HALF, 1, true);
    create_function(r, "c_types", FN_TYPES, -1, false);
    uint64_t late = ctx_create(r, SYS, FERRY_SQLITE_PRIVATE, "late", NULL); /* made after registration */

    const uint64_t everywhere[] = { SYS, w->shared, w->priv, w->ro, w->frozen, late };
    for (size_t i = 0; i < sizeof everywhere / sizeof everywhere[0]; i++) {
        result x;
        exec_ok(r, everywhere[i],
                "SELECT c_sum(), c_sum(1, 2, 39), c_concat('ab', 'cd'), c_rev(x'010203'), c_null(), c_half(5), "
                "typeof(c_half(5)), c_types(1, 2.5, 'x', x'00', NULL)",
                NULL, &x);
        CHECK(x.nvals == 8, "functions: %u values", x.nvals);
        CHECK(x.v[0].type == FERRY_SQLITE_INTEGER && x.v[0].i == 0, "c_sum()");
        CHECK(x.v[1].i == 42, "c_sum(1, 2, 39) = %lld", (long long)x.v[1].i);
        CHECK(x.v[2].type == FERRY_SQLITE_TEXT && x.v[2].len == 5 && memcmp(x.v[2].p, "ab+cd", 5) == 0, "c_concat");
        CHECK(x.v[3].type == FERRY_SQLITE_BLOB && x.v[3].len == 3 && memcmp(x.v[3].p, "\x03\x02\x01", 3) == 0, "c_rev");
        CHECK(x.v[4].type == FERRY_SQLITE_NULL, "c_null");
        CHECK(x.v[5].type == FERRY_SQLITE_FLOAT && x.v[5].d == 2.5, "c_half");
        CHECK(x.v[6].len == 4 && memcmp(x.v[6].p, "real", 4) == 0, "typeof(c_half(5))");
        CHECK(x.v[7].len == 5 && memcmp(x.v[7].p, "12345", 5) == 0, "c_types: %.*s", (int)x.v[7].len, x.v[7].p);
        result_free(&x);
        exec_fail(r, everywhere[i], "SELECT c_fail('because')", NULL, 1, "c says no: because");
    }
    CHECK(atomic_load(&dispatched) >= 6 * 8, "the dispatcher ran %ld times", atomic_load(&dispatched));
    CHECK(!atomic_load(&dispatched_on_main), "the dispatcher ran on the calling thread, not the engine's");
    /* A deterministic function may index; a failing one in a write leaves nothing. */
    exec_do(r, w->shared, "CREATE INDEX t_sum ON t(c_sum(id, 1))");
    exec_fail(r, w->shared, "UPDATE t SET name = c_fail(name)", NULL, 1, "c says no: one");
    CHECK_EQ_I64(exec_int(r, SYS, "SELECT count(*) FROM t WHERE name IN ('one', 'two')", NULL), 2, "names after the failed update");
    ctx_close(r, late);
}

static void test_errors(world *w)
{
    ft_test_name = "errors";
    ring *r = &w->r;
    const char *sql = "SELECT id FROM t WHER id = 1";
    int64_t off = exec_fail(r, w->shared, sql, NULL, 1, "near \"id\": syntax error");
    CHECK_EQ_I64(off, strstr(sql, "id = 1") - sql, "syntax error offset");
    const char *sql2 = "SELECT nosuch FROM t";
    off = exec_fail(r, SYS, sql2, NULL, 1, "no such column: nosuch");
    CHECK_EQ_I64(off, 7, "unknown column offset");
    params p = { 0 };
    p_int(&p, NULL, 1, 3);
    p_text(&p, NULL, 2, "one");
    off = exec_fail(r, w->shared, "INSERT INTO t(id, name) VALUES(?, ?)", &p, 2067, "UNIQUE constraint failed: t.name");
    CHECK_EQ_I64(off, -1, "a constraint has no offset");
    exec_fail(r, SYS, "SELECT 1; SELECT 2", NULL, 21, "more than one statement");
    p_int(&p, "stray", 0, 1);
    exec_fail(r, SYS, "SELECT 1", &p, -25, "stray");

    /* Malformed inputs fail cleanly. */
    ring_res res;
    xcall(r, SYS, O.exec, 0, "\x05\x00\x00\x00SEL", 7, true, &res);
    check_fail(&res, 21, "malformed", "truncated statement");
    xcall(r, SYS, O.batch, 0, "\xff\xff\xff\x7f", 4, true, &res);
    check_fail(&res, 21, "malformed", "batch of 2^31 statements");
    CHECK_EQ_I64(exec_int(r, SYS, "SELECT count(*) FROM t", NULL), 2, "count after the errors");
}

static void batch_raw(ring *r, uint64_t ctx, bb *in, uint32_t n, ring_res *res)
{
    bb all = { 0 };
    bb_u32(&all, n);
    bb_put(&all, in->p, in->len);
    bb_free(in);
    xcall(r, ctx, O.batch, 0, all.p, all.len, true, res);
    bb_free(&all);
}

static void test_batches(world *w)
{
    ft_test_name = "batches";
    ring *r = &w->r;
    bb in = { 0 };
    params p = { 0 };
    put_stmt(&in, "INSERT INTO t(id, name) VALUES(10, 'ten')", NULL);
    p_int(&p, "id", 0, 11);
    put_stmt(&in, "INSERT INTO t(id, name) VALUES(:id, 'eleven')", &p);
    put_stmt(&in, "INSERT INTO t(id, name) VALUES(12, 'one')", NULL); /* UNIQUE(name) */
    ring_res res;
    batch_raw(r, w->shared, &in, 3, &res);
    check_fail(&res, 2067, "statement 3 of 3", "failing batch");
    CHECK_EQ_I64(exec_int(r, SYS, "SELECT count(*) FROM t WHERE id >= 10", NULL), 0, "rows left by the failed batch");

    /* A function error in the middle of a batch rolls it back too. */
    put_stmt(&in, "INSERT INTO t(id, name) VALUES(10, 'ten')", NULL);
    put_stmt(&in, "INSERT INTO t(id, name) VALUES(11, c_fail('in a batch'))", NULL);
    batch_raw(r, w->shared, &in, 2, &res);
    check_fail(&res, 1, "c says no: in a batch", "batch with a failing function");
    CHECK_EQ_I64(exec_int(r, SYS, "SELECT count(*) FROM t WHERE id >= 10", NULL), 0, "rows left by the failed batch");

    /* A good batch: each statement's changes. */
    put_stmt(&in, "INSERT INTO t(id, name) VALUES(10, 'ten'), (11, 'eleven'), (12, 'twelve')", NULL);
    put_stmt(&in, "UPDATE t SET score = 1 WHERE id >= 11", NULL);
    put_stmt(&in, "DELETE FROM t WHERE id = 12", NULL);
    batch_raw(r, w->shared, &in, 3, &res);
    CHECK(res.err == 0 && res.out_kind == FERRY_OUT_BYTES && res.out_len == 4 + 3 * 8, "good batch: err %d (%s)", res.err,
          res.out ? res.out : "");
    uint32_t n;
    int64_t ch[3];
    memcpy(&n, res.out, 4);
    memcpy(ch, res.out + 4, sizeof ch);
    CHECK(n == 3 && ch[0] == 3 && ch[1] == 2 && ch[2] == 1, "batch changes %u: %lld %lld %lld", n, (long long)ch[0],
          (long long)ch[1], (long long)ch[2]);
    ring_res_free(&res);
    CHECK_EQ_I64(exec_int(r, w->ro, "SELECT count(*) FROM t", NULL), 4, "count after the good batch");

    /* The rows form: one statement, rows of values; a failing row rolls all back. */
    bb_u32(&in, 3u | 0x80000000u);
    bb_str(&in, "INSERT INTO t(id, name) VALUES(?, ?)");
    bb_u32(&in, 2);
    const char *names[] = { "twenty", "twenty-one", "one" }; /* 'one' is taken: UNIQUE(name) */
    for (int i = 0; i < 3; i++) {
        bb_u8(&in, FERRY_SQLITE_INTEGER);
        bb_i64(&in, 20 + i);
        bb_u8(&in, FERRY_SQLITE_TEXT);
        bb_str(&in, names[i]);
    }
    xcall(r, w->shared, O.batch, 0, in.p, in.len, true, &res);
    check_fail(&res, 2067, "statement 3 of 3", "failing rows batch");
    CHECK_EQ_I64(exec_int(r, SYS, "SELECT count(*) FROM t WHERE id >= 20", NULL), 0, "rows left by the failed batch");
    names[2] = "twenty-two";
    in.len = 0;
    bb_u32(&in, 3u | 0x80000000u);
    bb_str(&in, "INSERT INTO t(id, name) VALUES(?, ?)");
    bb_u32(&in, 2);
    for (int i = 0; i < 3; i++) {
        bb_u8(&in, FERRY_SQLITE_INTEGER);
        bb_i64(&in, 20 + i);
        bb_u8(&in, FERRY_SQLITE_TEXT);
        bb_str(&in, names[i]);
    }
    /* Truncated rows, and more rows than the bytes could hold, fail cleanly and leave nothing. */
    xcall(r, w->shared, O.batch, 0, in.p, in.len - 3, true, &res);
    check_fail(&res, 21, "malformed", "truncated rows batch");
    memcpy(in.p, &(uint32_t){ 1000000u | 0x80000000u }, 4);
    xcall(r, w->shared, O.batch, 0, in.p, in.len, true, &res);
    check_fail(&res, 21, "malformed", "a rows batch claiming too many rows");
    CHECK_EQ_I64(exec_int(r, SYS, "SELECT count(*) FROM t WHERE id >= 20", NULL), 0, "rows after the malformed batches");
    memcpy(in.p, &(uint32_t){ 3u | 0x80000000u }, 4);
    xcall(r, w->shared, O.batch, 0, in.p, in.len, true, &res);
    CHECK(res.err == 0 && res.out_len == 4 + 3 * 8, "rows batch: err %d (%s)", res.err, res.out ? res.out : "");
    ring_res_free(&res);
    bb_free(&in);
    CHECK_EQ_I64(exec_int(r, SYS, "SELECT count(*) FROM t WHERE id >= 20", NULL), 3, "rows of the good batch");
    exec_do(r, SYS, "DELETE FROM t WHERE id >= 20");
}

static void test_cache(world *w)
{
    ft_test_name = "cache";
    ring *r = &w->r;
    int64_t c0 = connections(), s0 = statements();
    uint64_t d = ctx_create(r, SYS, 0, "cache", NULL);
    CHECK_EQ_I64(connections(), c0 + 1, "connections after a context was made");
    char sql[64];
    for (int i = 0; i < 3 * CACHE_CAP; i++) {
        snprintf(sql, sizeof sql, "SELECT %d", i);
        CHECK_EQ_I64(exec_int(r, d, sql, NULL), i, sql);
        CHECK_EQ_I64(statements(), s0 + (i < CACHE_CAP ? i + 1 : CACHE_CAP), "statements cached");
    }
    /* A hit does not prepare again. */
    CHECK_EQ_I64(exec_int(r, d, sql, NULL), 3 * CACHE_CAP - 1, sql);
    CHECK_EQ_I64(statements(), s0 + CACHE_CAP, "statements after a cache hit");
    ctx_close(r, d);
    CHECK_EQ_I64(connections(), c0, "connections after the context was closed");
    CHECK_EQ_I64(statements(), s0, "statements after the context was closed");
}

/* A schema change makes SQLite re-prepare a cached statement on its next step, which frees the parameter
 * names it handed out: a named statement run again after one must still bind (ASan saw a use after free
 * of those names, found by make fuzz). */
static void test_reprepare(world *w)
{
    ft_test_name = "reprepare";
    ring *r = &w->r;
    uint64_t d = ctx_create(r, SYS, 0, "reprepare", NULL);
    exec_do(r, d, "CREATE TABLE rp(x INTEGER)");
    exec_do(r, d, "INSERT INTO rp VALUES(7)");
    const char *sql = "SELECT count(*) FROM rp WHERE x = :want";
    for (int round = 0; round < 3; round++) {
        params p = { 0 };
        p_int(&p, "want", 0, 7);
        CHECK_EQ_I64(exec_int(r, d, sql, &p), 1, "named select before and after schema changes");
        char ddl[64];
        snprintf(ddl, sizeof ddl, "CREATE TABLE rp_%d(y)", round);
        exec_do(r, d, ddl);
    }
    ctx_close(r, d);
}

/* ---- channels ------------------------------------------------------------------------------------ */

#define CHAN_BYTES 256

static unsigned char *make_channel(ring *r, uint32_t *id)
{
    ring_res res;
    xcall(r, SYS, O.channel, CHAN_BYTES, NULL, 0, false, &res);
    CHECK(res.err == 0 && res.result != 0, "sqlite.channel: err %d (%s)", res.err, res.out ? res.out : "");
    ring_res_free(&res);
    unsigned char *p = (unsigned char *)(uintptr_t)res.result;
    memcpy(id, p, 4);
    return p;
}

/* Writes sql with p into the channel and runs it; returns the call's result (length, or -1: spilled). */
static int64_t run_raw(ring *r, uint64_t ctx, unsigned char *chan, uint32_t id, const char *sql, params *p,
                       ring_res *res)
{
    bb in = { 0 };
    put_stmt(&in, sql, p);
    CHECK(in.len <= CHAN_BYTES, "statement of %zu bytes for a %d-byte channel", in.len, CHAN_BYTES);
    memcpy(chan, in.p, in.len);
    ring_req q = { .op = O.run, .ctx = ctx, .arg0 = id, .arg1 = (int64_t)in.len };
    CHECK(ring_call(r, &q, res) == RING_OK, "sqlite.run '%s'", sql);
    bb_free(&in);
    return res->result;
}

/* Runs sql through the channel and decodes its result from the channel's memory into x. */
static void run_ok(ring *r, uint64_t ctx, unsigned char *chan, uint32_t id, const char *sql, params *p, result *x)
{
    memset(x, 0, sizeof *x);
    int64_t len = run_raw(r, ctx, chan, id, sql, p, &x->raw);
    CHECK(x->raw.err == 0, "run '%s': err %d (%s)", sql, x->raw.err, x->raw.out ? x->raw.out : "");
    CHECK(x->raw.out_kind == FERRY_OUT_NONE, "run '%s': output kind %u, expected none", sql, x->raw.out_kind);
    CHECK(len >= 0 && len <= CHAN_BYTES, "run '%s': result length %lld", sql, (long long)len);
    /* Decode a copy as if it were the call's output bytes. */
    x->raw.out = malloc((size_t)len + 1);
    CHECK(x->raw.out != NULL, "out of memory");
    memcpy(x->raw.out, chan, (size_t)len);
    x->raw.out_len = (uint64_t)len;
    x->raw.out_kind = FERRY_OUT_BYTES;
    decode(x);
}

static void test_channels(world *w)
{
    ft_test_name = "channels";
    ring *r = &w->r;
    for (int i = 0; i < 2; i++)
        w->chan[i] = make_channel(r, &w->chan_id[i]);
    CHECK(w->chan_id[0] != w->chan_id[1], "two channels, one id %u", w->chan_id[0]);
    unsigned char *ch = w->chan[0];
    uint32_t id = w->chan_id[0];

    /* A plain statement, positional values by index: the row comes back in the channel. */
    exec_do(r, w->shared, "CREATE TABLE kv(id INTEGER PRIMARY KEY, name TEXT)");
    params p = { 0 };
    p_int(&p, NULL, 1, 7);
    p_text(&p, NULL, 2, "seven");
    result x;
    run_ok(r, w->shared, ch, id, "INSERT INTO kv VALUES(?, ?)", &p, &x);
    CHECK(x.changes == 1 && x.rowid == 7 && x.ncols == 0, "insert: changes %lld rowid %lld cols %u",
          (long long)x.changes, (long long)x.rowid, x.ncols);
    result_free(&x);
    p_int(&p, NULL, 1, 7);
    run_ok(r, w->shared, ch, id, "SELECT name, id * 6 FROM kv WHERE id = ?", &p, &x);
    CHECK(x.ncols == 2 && x.nvals == 2 && x.v[0].type == FERRY_SQLITE_TEXT && x.v[0].len == 5 &&
              memcmp(x.v[0].p, "seven", 5) == 0 && x.v[1].i == 42,
          "select through the channel: %u cols %u vals", x.ncols, x.nvals);
    CHECK(x.changes == 0, "a select changed %lld rows", (long long)x.changes);
    result_free(&x);

    /* Named parameters and scope variables, and positional values out of order, still bind. */
    set_var(r, w->shared, "who", FERRY_VAR_I64, 7, NULL);
    CHECK_EQ_I64(exec_int(r, w->shared, "SELECT count(*) FROM kv WHERE id = :who", NULL), 1, "scope variable");
    p_int(&p, "who", 0, 8);
    run_ok(r, w->shared, ch, id, "SELECT count(*) FROM kv WHERE id = :who", &p, &x);
    CHECK(x.nvals == 1 && x.v[0].i == 0, "an explicit :who wins over the scope's");
    result_free(&x);
    run_ok(r, w->shared, ch, id, "SELECT count(*) FROM kv WHERE id = :who", NULL, &x);
    CHECK(x.nvals == 1 && x.v[0].i == 1, "the scope's :who through the channel");
    result_free(&x);
    p_int(&p, NULL, 2, 2);
    p_int(&p, NULL, 1, 1);
    run_ok(r, w->shared, ch, id, "SELECT ? - ?", &p, &x);
    CHECK(x.nvals == 1 && x.v[0].i == -1, "positional values given out of order bind by index");
    result_free(&x);

    /* A result larger than the channel stays on the engine until sqlite.spill takes it. */
    ring_res res;
    int64_t len = run_raw(r, w->shared, ch, id, "SELECT zeroblob(1000), 'x'", NULL, &res);
    CHECK(res.err == 0 && len == -1, "a large result: err %d, result %lld", res.err, (long long)len);
    ring_res_free(&res);
    xcall(r, w->shared, O.spill, 0, &id, 4, true, &res);
    CHECK(res.err == 0 && res.out_kind == FERRY_OUT_BYTES, "sqlite.spill: err %d (%s)", res.err, res.out ? res.out : "");
    memset(&x, 0, sizeof x);
    x.raw = res;
    decode(&x);
    CHECK(x.ncols == 2 && x.nvals == 2 && x.v[0].type == FERRY_SQLITE_BLOB && x.v[0].len == 1000, "the spilled result");
    result_free(&x);
    xcall(r, w->shared, O.spill, 0, &id, 4, true, &res);
    check_fail(&res, 21 /* SQLITE_MISUSE */, "holds no result", "a second sqlite.spill");

    /* Failures: SQLite's, and malformed calls. */
    run_raw(r, w->shared, ch, id, "SELECT nosuch FROM kv", NULL, &res);
    int64_t offset = check_fail(&res, 1 /* SQLITE_ERROR */, "no such column: nosuch", "run: no such column");
    CHECK_EQ_I64(offset, 7, "error offset through sqlite.run");
    p_int(&p, NULL, 1, 8);
    p_text(&p, NULL, 2, "eight");
    run_raw(r, w->ro, ch, id, "INSERT INTO kv VALUES(?, ?)", &p, &res);
    check_fail(&res, -8 /* SQLITE_READONLY */, "readonly", "run: a write in a read-only context");
    ring_req q = { .op = O.run, .ctx = w->shared, .arg0 = 99, .arg1 = 0 };
    CHECK(ring_call(r, &q, &res) == RING_OK, "run on no channel");
    check_fail(&res, 21 /* SQLITE_MISUSE */, "no channel 99", "run on no channel");
    q = (ring_req){ .op = O.run, .ctx = w->shared, .arg0 = id, .arg1 = CHAN_BYTES + 1 };
    CHECK(ring_call(r, &q, &res) == RING_OK, "run beyond the channel");
    check_fail(&res, 21 /* SQLITE_MISUSE */, "exceeds the channel", "run beyond the channel");
    memset(ch, 0xff, 16);
    q = (ring_req){ .op = O.run, .ctx = w->shared, .arg0 = id, .arg1 = 16 };
    CHECK(ring_call(r, &q, &res) == RING_OK, "run on garbage");
    check_fail(&res, 21 /* SQLITE_MISUSE */, "malformed", "run on garbage");
    q = (ring_req){ .op = O.channel, .ctx = SYS, .arg0 = 1 };
    CHECK(ring_call(r, &q, &res) == RING_OK, "a tiny channel");
    check_fail(&res, 21 /* SQLITE_MISUSE */, "capacity", "a tiny channel");

    /* The second channel is left holding a result no one takes: the stop frees it. */
    len = run_raw(r, w->shared, w->chan[1], w->chan_id[1], "SELECT zeroblob(500)", NULL, &res);
    CHECK(res.err == 0 && len == -1, "a large result left in channel 2");
    ring_res_free(&res);
}

static void test_hardening(world *w)
{
    ft_test_name = "hardening";
    ring *r = &w->r;
    uint32_t flags = 0;
    /* Item 1: no op takes the dispatcher's address any more, and the plumbing is internal. */
    CHECK_EQ_I64(ferry_op_lookup(r->engine, "sqlite.dispatch", &flags), FERRY_E_UNKNOWN_OP,
                 "sqlite.dispatch, an op that jumps to any address its caller gives, is still registered");
    const char *internal[] = { "sqlite.channel", "sqlite.channel_close", "sqlite.run", "sqlite.spill",
                               "sqlite.function", "ferry.ctx_create", "ferry.var_get" };
    for (size_t i = 0; i < sizeof internal / sizeof internal[0]; i++) {
        CHECK(ferry_op_lookup(r->engine, internal[i], &flags) >= 0, "no op %s", internal[i]);
        CHECK(flags & FERRY_OP_INTERNAL, "%s is not FERRY_OP_INTERNAL (flags 0x%x)", internal[i], flags);
    }
    CHECK(ferry_op_lookup(r->engine, "sqlite.exec", &flags) >= 0 && !(flags & FERRY_OP_INTERNAL), "sqlite.exec is internal");

    /* Item 5: a spilled result is its context's: another context naming the channel gets nothing. */
    uint32_t id;
    unsigned char *ch = make_channel(r, &id);
    ring_res res;
    int64_t len = run_raw(r, w->shared, ch, id, "SELECT zeroblob(1000)", NULL, &res);
    CHECK(res.err == 0 && len == -1, "a large result: err %d, result %lld", res.err, (long long)len);
    ring_res_free(&res);
    xcall(r, w->priv, O.spill, 0, &id, 4, true, &res);
    CHECK(res.err != 0, "another context took context 'shared''s spilled result (%llu bytes)",
          (unsigned long long)res.out_len);
    check_fail(&res, 21 /* SQLITE_MISUSE */, "holds no result", "sqlite.spill from another context");
    xcall(r, SYS, O.spill, 0, &id, 4, true, &res);
    check_fail(&res, 21 /* SQLITE_MISUSE */, "holds no result", "sqlite.spill from the systemic context");
    xcall(r, w->shared, O.spill, 0, &id, 4, true, &res);
    CHECK(res.err == 0 && res.out_kind == FERRY_OUT_BYTES, "sqlite.spill by its own context: err %d", res.err);
    ring_res_free(&res);
    xcall(r, SYS, O.chan_close, id, NULL, 0, false, &res);
    CHECK(res.err == 0, "sqlite.channel_close: err %d", res.err);
    xcall(r, SYS, O.chan_close, id, NULL, 0, false, &res);
    check_fail(&res, 21 /* SQLITE_MISUSE */, "no channel", "sqlite.channel_close twice");
    ring_req q = { .op = O.run, .ctx = w->shared, .arg0 = id, .arg1 = 0 };
    CHECK(ring_call(r, &q, &res) == RING_OK, "run on a closed channel");
    check_fail(&res, 21 /* SQLITE_MISUSE */, "no channel", "run on a closed channel");

    /* Item 1: closed channels give their ids back, so the 65,536 limit is never used up for good. */
    for (int i = 0; i < 70000; i++) {
        xcall(r, SYS, O.channel, 64, NULL, 0, false, &res);
        CHECK(res.err == 0, "sqlite.channel, cycle %d: err %d (%s)", i, res.err, res.out ? res.out : "");
        uint32_t cid;
        memcpy(&cid, (void *)(uintptr_t)res.result, 4);
        CHECK(cid <= 3, "cycle %d: channel id %u, closed ids are not made again", i, cid);
        xcall(r, SYS, O.chan_close, cid, NULL, 0, false, &res);
        CHECK(res.err == 0, "sqlite.channel_close, cycle %d: err %d", i, res.err);
    }
}

static void test_cancel(world *w)
{
    ft_test_name = "cancel";
    ring *r = &w->r;
    bb in = { 0 };
    put_stmt(&in, FOREVER, NULL);
    int64_t timeout = 50 * FT_MS;
    for (int round = 0; round < 2; round++) {
        ring_req q = { .op = O.exec, .ctx = w->shared, .has_input = true, .in = in.p, .in_len = in.len };
        ring_res res;
        int64_t t0 = ft_now_ns();
        int rc = ring_call_timed(r, &q, &res, timeout);
        CHECK(rc == RING_TIMEDOUT, "the endless statement ended with %d", rc);
        CHECK_EQ_I64(exec_int(r, w->shared, "SELECT 6 * 7", NULL), 42, "the call after the interrupted one");
        int64_t took = ft_now_ns() - t0;
        CHECK(took < 40 * timeout * (FT_ASAN ? 4 : 1), "timeout and the next call took %lld ms",
              (long long)(took / FT_MS));
    }
    bb_free(&in);
}

/* A caller that gave its call up before the engine took it out of the slot, but after the engine looked
 * (only the cell says GONE): the engine runs the call, and the op stops reading its values at the next
 * look at the cancel flag (every 1,024). A million values no parameter takes cost a few hundred ms to read,
 * file and refuse; given up, the call must cost the engine under a twentieth of that (0.1 ms of 280 to 320
 * here), an eighth under ASan (whose calloc touches the million-value array: 27 ms of 300 to 360). Without
 * the reader's check it cost the reading: 34 ms of 311 to 317. */
static void test_gave_up_reading(world *w)
{
    ft_test_name = "gave_up_reading";
    ring *r = &w->r;
    params p = { 0 };
    p_int(&p, "a", 0, 1);
    char name[32];
    for (int i = 0; i < 1000000; i++) {
        snprintf(name, sizeof name, "unused%d", i);
        p_int(&p, name, 0, i);
    }
    bb big = { 0 };
    put_stmt(&big, "SELECT :a", &p);
    ring_req q = { .op = O.exec, .ctx = w->shared, .has_input = true, .in = big.p, .in_len = big.len };
    int64_t full = INT64_MAX;
    for (int round = 0; round < 2; round++) { /* the least of two: the first also touches fresh memory */
        int64_t c0 = ferry_engine_cpu_ns(r->engine);
        ring_res res;
        CHECK(ring_call(r, &q, &res) == RING_OK, "the full call");
        check_fail(&res, SQLITE_RANGE, "no parameter :unused", "the full call");
        int64_t c = ferry_engine_cpu_ns(r->engine) - c0;
        full = c < full ? c : full;
    }
    /* An endless statement holds the engine while the big call queues behind it and is given up on its
     * cell alone; giving the endless one up lets the engine go on to it. */
    bb forever = { 0 };
    put_stmt(&forever, FOREVER, NULL);
    ring_req fq = { .op = O.exec, .ctx = w->shared, .has_input = true, .in = forever.p, .in_len = forever.len };
    int64_t deadline = ft_now_ns() + r->hang_ns;
    uint64_t a, b;
    CHECK(ring_claim(r, &a) == RING_OK && ring_wait_free(r, a, deadline) == RING_OK && ring_fill(r, a, &fq) == RING_OK,
          "fill the endless statement");
    ring_publish(r, a, 0);
    CHECK(ring_await_started(r, a, deadline) == RING_OK, "the endless statement never started");
    CHECK(ring_claim(r, &b) == RING_OK && ring_wait_free(r, b, deadline) == RING_OK && ring_fill(r, b, &q) == RING_OK,
          "fill the big call");
    ring_publish(r, b, 0);
    CHECK(ring_set_flag(r, b, FERRY_FLAG_GONE), "GONE on the big call's cell");
    ring_cell_release(r, b, true);
    int64_t c0 = ferry_engine_cpu_ns(r->engine);
    CHECK(ring_give_up(r, a), "give the endless statement up");
    CHECK(ring_wait_done(r, b, deadline) == RING_OK, "the big call never ended");
    int64_t gone = ferry_engine_cpu_ns(r->engine) - c0;
    CHECK(gone < full / (FT_ASAN ? 8 : 20), "given up, the call cost the engine %lld ms of CPU (with the endless statement's "
          "interrupt), the full one %lld ms: reading did not stop", (long long)(gone / FT_MS), (long long)(full / FT_MS));
    if (getenv("FERRY_TEST_VERBOSE"))
        fprintf(stderr, "  gave_up_reading: given up %.1f ms of engine CPU, full %.1f ms\n", gone / 1e6, full / 1e6);
    CHECK_EQ_I64(exec_int(r, w->shared, "SELECT 6 * 7", NULL), 42, "the call after the given-up one");
    bb_free(&forever);
    bb_free(&big);
}

/* ferry_engine_cancel's hook alone (the call is not GONE, so the progress handler never stops it):
 * sqlite3_interrupt ends the endless statement with SQLITE_INTERRUPT, and the connection still works. */
static void test_interrupt(world *w)
{
    ft_test_name = "interrupt";
    ring *r = &w->r;
    bb in = { 0 };
    put_stmt(&in, FOREVER, NULL);
    ring_req q = { .op = O.exec, .ctx = w->shared, .has_input = true, .in = in.p, .in_len = in.len };
    uint64_t seq;
    CHECK(ring_claim(r, &seq) == RING_OK, "claim");
    int64_t deadline = ft_now_ns() + r->hang_ns;
    CHECK(ring_wait_free(r, seq, deadline) == RING_OK && ring_fill(r, seq, &q) == RING_OK, "fill");
    ring_publish(r, seq, 0);
    CHECK(ring_await_started(r, seq, deadline) == RING_OK, "the statement never started");
    /* A hook that lands before the statement starts is forgotten by SQLite: cancel until it ends. */
    long hooked = 0;
    while (!ring_done(r, seq)) {
        hooked += ferry_engine_cancel(r->engine, seq);
        CHECK(ft_now_ns() < deadline, "the statement was not interrupted");
        usleep(1000);
    }
    CHECK(hooked > 0, "the statement ended without a cancel");
    CHECK_EQ_I64(ferry_engine_cancel(r->engine, seq), 0, "a cancel once the statement ended");
    ring_res res;
    ring_take(r, seq, &res);
    check_fail(&res, SQLITE_INTERRUPT, "interrupt", "the interrupted statement");
    CHECK_EQ_I64(exec_int(r, w->shared, "SELECT 6 * 7", NULL), 42, "the call after the interrupted one");
    CHECK_EQ_I64(exec_int(r, w->shared,
                          "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 1000) "
                          "SELECT count(*) FROM c", NULL),
                 1000, "the same statement, bounded, on the same connection");
    bb_free(&in);
}

static void test_stop_with_open(world *w, int64_t c0, int64_t s0)
{
    ft_test_name = "stop_with_open";
    ring *r = &w->r;
    /* A pending write transaction in the private database, statements cached everywhere, an interrupted
     * statement in the shared context (test_cancel), functions registered, contexts open. */
    exec_do(r, w->priv, "BEGIN");
    exec_do(r, w->priv, "INSERT INTO only_private VALUES(1)");
    CHECK(connections() == c0 + 5, "open connections before the stop: %lld, expected %lld", (long long)connections(),
          (long long)(c0 + 5));
    CHECK(statements() > s0, "no statements cached before the stop");
    stop(r);
    CHECK_EQ_I64(connections(), c0, "connections after the stop");
    CHECK_EQ_I64(statements(), s0, "statements after the stop");
    /* The channels are the host's to free, once the engine has stopped. */
    for (int i = 0; i < 2; i++)
        lib_free(w->chan[i]);
}

static void test_fresh_engine(int64_t c0, int64_t s0)
{
    ft_test_name = "fresh_engine";
    world w2 = { 0 };
    start(&w2.r, "path=:memory:\ncache=2");
    ring *r = &w2.r;
    CHECK_EQ_I64(exec_int(r, SYS, "SELECT count(*) FROM sqlite_schema", NULL), 0, "tables in a new engine's database");
    install_dispatcher(r);
    create_function(r, "c_sum", FN_SUM, -1, true);
    uint64_t base = ctx_create(r, SYS, FERRY_SQLITE_PRIVATE, "base", NULL);
    for (int i = 0; i < 20; i++) {
        uint64_t c = ctx_create(r, i % 2 ? SYS : base, i % 3 ? 0 : FERRY_SQLITE_PRIVATE, "many", NULL);
        CHECK_EQ_I64(exec_int(r, c, "SELECT c_sum(1, 2)", NULL), 3, "c_sum in a new context");
        if (i % 4 == 0)
            ctx_close(r, c);
    }
    stop(r);
    CHECK_EQ_I64(connections(), c0, "connections after the second engine");
    CHECK_EQ_I64(statements(), s0, "statements after the second engine");
}

/* ---- a WAL file and its anchor -------------------------------------------------------------------- */

static void sleep_ms(int ms)
{
    struct timespec t = { ms / 1000, (long)(ms % 1000) * 1000000L };
    nanosleep(&t, NULL);
}

/* Another connection's statement (as another process would run it); returns the first column. */
static int64_t other_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    CHECK(sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK, "other: prepare %s: %s", sql, sqlite3_errmsg(db));
    int rc = sqlite3_step(st);
    CHECK(rc == SQLITE_ROW || rc == SQLITE_DONE, "other: %s: %s", sql, sqlite3_errmsg(db));
    int64_t v = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
    sqlite3_finalize(st);
    return v;
}

static void test_wal_anchor(int64_t c0, int64_t s0)
{
    ft_test_name = "wal_anchor";
    char dir[] = "/tmp/ferry-test-sqlite-XXXXXX";
    CHECK(mkdtemp(dir) != NULL, "mkdtemp");
    char path[128], config[256];
    snprintf(path, sizeof path, "%s/anchor.db", dir);
    snprintf(config, sizeof config, "path=%s\nwal=1\nsynchronous=normal\nbusy_timeout=100", path);
    world w2 = { 0 };
    start(&w2.r, config);
    ring *r = &w2.r;
    exec_do(r, SYS, "CREATE TABLE t(x INTEGER)");
    sqlite3 *other = NULL;
    CHECK(sqlite3_open(path, &other) == SQLITE_OK, "open the other connection");
    for (int i = 0; i < 20; i++) {
        CHECK_EQ_I64(exec_int(r, SYS, "SELECT count(*) FROM t", NULL), i, "the engine sees every commit");
        other_int(other, "INSERT INTO t VALUES(1)");
    }
    /* The anchor, like every handle, is the engine thread's: the process runs no thread but ours and the
     * engine's (no helper thread renews it). */
    int threads = 0;
    DIR *tasks = opendir("/proc/self/task");
    CHECK(tasks != NULL, "opendir /proc/self/task");
    for (struct dirent *d; (d = readdir(tasks)) != NULL;)
        threads += d->d_name[0] != '.';
    closedir(tasks);
    CHECK(threads == 2, "%d threads run while the anchor holds; expected this one and the engine's", threads);
    /* Right after queries: a checkpoint through the engine lets the anchor go first, and completes. */
    CHECK_EQ_I64(exec_int(r, SYS, "SELECT count(*) FROM t", NULL), 20, "count");
    result x;
    exec_ok(r, SYS, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, &x);
    CHECK(x.nvals == 3 && x.v[0].i == 0 && x.v[1].i == 0, "the engine's checkpoint: busy %lld, log %lld",
          (long long)x.v[0].i, (long long)x.v[1].i);
    result_free(&x);
    /* Queries, then quiet: within a few ticks nothing is held, and another connection's checkpoint
     * completes. */
    for (int i = 0; i < 5; i++) {
        other_int(other, "INSERT INTO t VALUES(2)");
        CHECK_EQ_I64(exec_int(r, SYS, "SELECT count(*) FROM t", NULL), 21 + i, "count");
    }
    int64_t busy = 1;
    for (int tries = 0; tries < 200 && busy; tries++) {
        sleep_ms(5);
        busy = other_int(other, "PRAGMA wal_checkpoint(TRUNCATE)");
    }
    CHECK_EQ_I64(busy, 0, "another connection's checkpoint once the engine is quiet");
    /* Out of WAL mode (the other connection closed: SQLite needs the file to itself for the switch,
     * and the anchor's connection makes way), no anchor: after queries, another connection writes
     * without waiting. */
    CHECK(sqlite3_close(other) == SQLITE_OK, "close the other connection");
    exec_do(r, SYS, "PRAGMA journal_mode=DELETE");
    CHECK(sqlite3_open(path, &other) == SQLITE_OK, "open the other connection again");
    other_int(other, "PRAGMA busy_timeout=0");
    CHECK_EQ_I64(exec_int(r, SYS, "SELECT count(*) FROM t", NULL), 25, "count in rollback mode");
    other_int(other, "INSERT INTO t VALUES(3)");
    CHECK_EQ_I64(exec_int(r, SYS, "SELECT count(*) FROM t", NULL), 26, "count in rollback mode");
    /* Back to WAL; stop with the anchor holding. */
    exec_do(r, SYS, "PRAGMA journal_mode=WAL");
    CHECK_EQ_I64(exec_int(r, SYS, "SELECT count(*) FROM t", NULL), 26, "count back in WAL mode");
    stop(r);
    CHECK(sqlite3_close(other) == SQLITE_OK, "close the other connection");
    CHECK_EQ_I64(connections(), c0, "connections after the WAL engine");
    CHECK_EQ_I64(statements(), s0, "statements after the WAL engine");
    const char *suffix[] = { "", "-wal", "-shm", "-journal" };
    for (int i = 0; i < 4; i++) {
        char f[160];
        snprintf(f, sizeof f, "%s%s", path, suffix[i]);
        unlink(f);
    }
    rmdir(dir);
}

int main(void)
{
    const char *env = getenv("FERRY_TEST_SQLITE_LIB");
    if (env && *env)
        sqlite_lib = env;
    struct stat lib, src;
    if (stat(sqlite_lib, &lib) != 0) {
        fprintf(stderr, "test_sqlite: skipped: %s is not built (make native)\n", sqlite_lib);
        return 77;
    }
    if (!env && stat(SQLITE_SRC, &src) == 0 && src.st_mtime > lib.st_mtime) {
        fprintf(stderr, "test_sqlite: skipped: %s is older than %s (make native)\n", sqlite_lib, SQLITE_SRC);
        return 77;
    }
    main_thread = pthread_self();
    /* Our own handle: the library stays loaded across engines, so its counters do too. */
    void *h = dlopen(sqlite_lib, RTLD_NOW | RTLD_LOCAL);
    CHECK(h != NULL, "dlopen %s: %s", sqlite_lib, dlerror());
    void *fc = dlsym(h, "ferry_sqlite_open_connections"), *fs = dlsym(h, "ferry_sqlite_open_statements");
    CHECK(fc && fs, "the counters are not exported by %s", sqlite_lib);
    memcpy(&lib_connections, &fc, sizeof fc);
    memcpy(&lib_statements, &fs, sizeof fs);
    void *ff = dlsym(h, "ferry_sqlite_free");
    CHECK(ff != NULL, "ferry_sqlite_free is not exported by %s", sqlite_lib);
    memcpy(&lib_free, &ff, sizeof ff);
    void *fd = dlsym(h, "ferry_sqlite_set_dispatcher");
    CHECK(fd != NULL, "ferry_sqlite_set_dispatcher is not exported by %s", sqlite_lib);
    memcpy(&lib_set_dispatcher, &fd, sizeof fd);

    int64_t c0 = connections(), s0 = statements();
    static world w;
    char config[64];
    snprintf(config, sizeof config, "path=:memory:\nbusy_timeout=100\ncache=%d", CACHE_CAP);
    int64_t t0 = ft_now_ns();
    start(&w.r, config);
    CHECK_EQ_I64(connections(), c0 + 1, "connections after the start (the systemic context's)");
    struct {
        const char *name;
        void (*fn)(world *);
    } tests[] = {
        { "contexts_and_params", test_contexts_and_params },
        { "functions", test_functions },
        { "errors", test_errors },
        { "batches", test_batches },
        { "cache", test_cache },
        { "reprepare", test_reprepare },
        { "channels", test_channels },
        { "hardening", test_hardening },
        { "cancel", test_cancel },
        { "interrupt", test_interrupt },
        { "gave_up_reading", test_gave_up_reading },
    };
    const int n = (int)(sizeof tests / sizeof tests[0]);
    for (int i = 0; i < n; i++) {
        int64_t t = ft_now_ns();
        tests[i].fn(&w);
        ft_case_done(tests[i].name, t);
    }
    test_stop_with_open(&w, c0, s0);
    test_fresh_engine(c0, s0);
    int64_t t = ft_now_ns();
    test_wal_anchor(c0, s0);
    ft_case_done("wal_anchor", t);
    printf("test_sqlite: %d tests passed in %.2f s\n", n + 3, (double)(ft_now_ns() - t0) / 1e9);
    return 0;
}
