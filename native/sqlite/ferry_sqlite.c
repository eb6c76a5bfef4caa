/*
 * ferry_sqlite.c: SQLite as a Ferry engine. See ferry_sqlite.h for the ops and their encodings.
 *
 * Everything here runs on the engine thread: the init, the context hooks that open and close each
 * context's connection, the ops, and the function trampoline SQLite calls back into.
 */
#include "ferry_sqlite.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* io.ferry.sqlite.Sqlite mirrors this struct: type 0, i64 8, f64 16, ptr 24, len 32; 40 bytes. */
_Static_assert(offsetof(ferry_sqlite_result, i64) == 8 && offsetof(ferry_sqlite_result, f64) == 16 &&
                   offsetof(ferry_sqlite_result, ptr) == 24 && offsetof(ferry_sqlite_result, len) == 32 &&
                   sizeof(ferry_sqlite_result) == 40,
               "ferry_sqlite_result layout");

#define FS_DEFAULT_CACHE 64
#define FS_PROGRESS_STEPS 1000

static _Atomic int64_t fs_open_connections;
static _Atomic int64_t fs_open_statements;
/* The host's function dispatcher, one per process: set once through ferry_sqlite_set_dispatcher (a C
 * function, never an op: no caller of an op can hand the engine a code address). */
static _Atomic(ferry_sqlite_dispatch_fn) fs_dispatcher;

typedef struct fs_engine fs_engine;

/* A function the host registered; one allocation each, so SQLite's user-data pointer stays valid. */
typedef struct fs_fn {
    fs_engine *engine;
    char *name;
    int n_args;
    int32_t id;
    int flags;
} fs_fn;

typedef struct fs_stmt {
    char *sql;
    size_t len;
    uint32_t hash;
    bool plain;              /* every parameter is an anonymous '?': positional value k binds index k */
    bool read;               /* only reads and returns rows: may run in a held read transaction */
    bool solo;               /* may need the file to itself (journal_mode, locking_mode, VACUUM) */
    sqlite3_stmt *stmt;
    /* [n + 1]: each parameter's name (NULL for a bare '?'), made on the first bind that needs it.
     * SQLite finds a parameter's name by walking a list, so a statement's names are asked for once. */
    const char **names;
    uint64_t used;
} fs_stmt;

/* A channel: a buffer the host writes a statement into and reads its result from, so that a call
 * needs no allocation or copy on either side. Made by sqlite.channel (an internal op: only the binding
 * calls it), known to callers by its id: sqlite.run and sqlite.spill take the id, never an address.
 * sqlite.channel_close frees it and its id is made again; the channels still open when the engine
 * stops are the host's to free (ferry_sqlite_free): it may still read them. */
typedef struct fs_chan {
    unsigned char *p;        /* NULL: a closed id, on the free list */
    uint32_t cap;
    uint32_t next_free;      /* closed ids: the next one on the free list */
    unsigned char *spill;    /* a result that did not fit, until sqlite.spill takes it */
    size_t spill_len;
    uint64_t spill_ctx;      /* the context whose sqlite.run left the spill: the only one that takes it */
} fs_chan;

typedef struct fs_ctx {
    fs_engine *engine;
    sqlite3 *db;
    char *db_name;           /* what children that share this context's database open */
    fs_stmt *cache;
    int cached;
    uint64_t tick;
    ferry_call *current;     /* the call whose statement is running: its cancel flag stops it */
    bool memory;             /* an in-memory database: only this engine's connections reach it */
    bool held;               /* a read transaction the engine opened and keeps across reads */
    sqlite3_stmt *begin, *commit; /* for held read transactions (not in the statement counter) */
    struct fs_ctx *prev, *next;
} fs_ctx;

/* The anchor of a WAL file (see "the WAL anchor" below). Like every SQLite handle of the engine, its
 * connection is used by the engine thread only. */
typedef struct fs_anchor {
    bool held;               /* the anchor's read transaction is open */
    bool off;                /* the file is not in WAL mode: no anchor until a statement may change that */
    uint32_t run;            /* queries since the last write */
    int64_t taken_ns;        /* when the read transaction began */
    sqlite3 *db;
    sqlite3_stmt *begin, *read, *commit, *mode;
} fs_anchor;

struct fs_engine {
    char *path;              /* NULL: in memory */
    char main_name[160];
    bool wal;
    int synchronous;         /* PRAGMA synchronous for every connection; -1: SQLite's default */
    bool memstatus;          /* keep SQLite's allocation statistics (a global mutex per allocation) */
    int busy_ms;
    int cache_cap;
    uint64_t privates;
    fs_fn **fns;
    int n_fns;
    int fns_cap;
    fs_ctx *contexts;        /* every open context, for registering functions on all connections */
    int held;                /* contexts whose connection holds a read transaction */
    fs_anchor *anchor;       /* WAL files: see "the WAL anchor"; NULL otherwise */
    _Atomic(sqlite3 *) stepping; /* the connection fs_run is stepping, NULL between steps: what the
                                  * cancel hook interrupts, from the cancelling thread */
    fs_chan *chans;
    uint32_t n_chans;        /* ids made so far, open or closed */
    uint32_t chans_cap;
    uint32_t n_open;         /* open channels, at most FS_MAX_CHANNELS */
    uint32_t free_chan;      /* the first closed id to make again, FS_NO_CHANNEL if none */
};

#define FS_NO_CHANNEL UINT32_MAX

int64_t ferry_sqlite_open_connections(void)
{
    return atomic_load(&fs_open_connections);
}

int64_t ferry_sqlite_open_statements(void)
{
    return atomic_load(&fs_open_statements);
}

void ferry_sqlite_free(void *channel)
{
    free(channel);
}

int ferry_sqlite_set_dispatcher(ferry_sqlite_dispatch_fn fn)
{
    if (!fn)
        return FERRY_E_INVALID;
    ferry_sqlite_dispatch_fn none = NULL;
    if (atomic_compare_exchange_strong(&fs_dispatcher, &none, fn) || none == fn)
        return 0;
    return FERRY_E_EXISTS;
}

/* ---- growing output buffer ---------------------------------------------------------------------- */

/* Starts empty (malloc'd as it grows), or on a channel's memory (borrowed: p is not ours to free until
 * the result outgrows it, when it moves to a malloc'd copy and owned becomes true). */
typedef struct fs_buf {
    unsigned char *p;
    size_t len;
    size_t cap;
    bool oom;
    bool borrowed;
} fs_buf;

static void fs_buf_free(fs_buf *b)
{
    if (!b->borrowed)
        free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

static bool fs_grow(fs_buf *b, size_t need)
{
    if (b->oom)
        return false;
    size_t cap = b->cap ? b->cap : 256;
    while (cap < need)
        cap *= 2;
    unsigned char *p;
    if (b->borrowed) {
        p = malloc(cap);
        if (p && b->len)
            memcpy(p, b->p, b->len);
    } else {
        p = realloc(b->p, cap);
    }
    if (!p) {
        b->oom = true;
        return false;
    }
    b->p = p;
    b->cap = cap;
    b->borrowed = false;
    return true;
}

static inline void fs_put(fs_buf *b, const void *d, size_t n)
{
    if (b->len + n > b->cap && !fs_grow(b, b->len + n))
        return;
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
}

static void fs_put_u8(fs_buf *b, uint8_t v)
{
    fs_put(b, &v, 1);
}

static void fs_put_u32(fs_buf *b, uint32_t v)
{
    fs_put(b, &v, 4);
}

static void fs_put_i64(fs_buf *b, int64_t v)
{
    fs_put(b, &v, 8);
}

/* One column value of the current row or a function argument, in the wire format. */
static void fs_put_value(fs_buf *b, sqlite3_value *v)
{
    switch (sqlite3_value_type(v)) {
    case SQLITE_INTEGER:
        fs_put_u8(b, FERRY_SQLITE_INTEGER);
        fs_put_i64(b, sqlite3_value_int64(v));
        break;
    case SQLITE_FLOAT: {
        double d = sqlite3_value_double(v);
        fs_put_u8(b, FERRY_SQLITE_FLOAT);
        fs_put(b, &d, 8);
        break;
    }
    case SQLITE_TEXT: {
        const unsigned char *t = sqlite3_value_text(v);
        uint32_t n = (uint32_t)sqlite3_value_bytes(v);
        fs_put_u8(b, FERRY_SQLITE_TEXT);
        fs_put_u32(b, n);
        fs_put(b, t, n);
        break;
    }
    case SQLITE_BLOB: {
        const void *d = sqlite3_value_blob(v);
        uint32_t n = (uint32_t)sqlite3_value_bytes(v);
        fs_put_u8(b, FERRY_SQLITE_BLOB);
        fs_put_u32(b, n);
        fs_put(b, d, n);
        break;
    }
    default:
        fs_put_u8(b, FERRY_SQLITE_NULL);
        break;
    }
}

/* ---- input reader ------------------------------------------------------------------------------- */

typedef struct fs_in {
    const unsigned char *p;
    size_t left;
    bool bad;
    ferry_call *call;  /* whose caller may give up while a long statement is read (fs_read_statement) */
    bool gave_up;      /* reading stopped because that caller gave up (bad is set too) */
} fs_in;

/* How many parameters are read or bound between two looks at whether the caller gave up. */
#define FS_CANCEL_EVERY 1024u

/* Whether the k-th of many steps should stop because c's caller gave up (looked at every FS_CANCEL_EVERY). */
static bool fs_gave_up_at(ferry_call *c, uint32_t k)
{
    return (k % FS_CANCEL_EVERY) == FS_CANCEL_EVERY - 1 && c && ferry_call_cancelled(c);
}

static const void *fs_take(fs_in *r, size_t n)
{
    if (r->bad || r->left < n) {
        r->bad = true;
        return NULL;
    }
    const void *p = r->p;
    r->p += n;
    r->left -= n;
    return p;
}

static uint32_t fs_u32(fs_in *r)
{
    uint32_t v = 0;
    const void *p = fs_take(r, 4);
    if (p)
        memcpy(&v, p, 4);
    return v;
}

typedef struct fs_value {
    uint8_t type;
    int64_t i64;
    double f64;
    const void *bytes;
    uint32_t len;
} fs_value;

static fs_value fs_read_value(fs_in *r)
{
    fs_value v = { 0 };
    const uint8_t *t = fs_take(r, 1);
    if (!t)
        return v;
    v.type = *t;
    switch (v.type) {
    case FERRY_SQLITE_INTEGER: {
        const void *p = fs_take(r, 8);
        if (p)
            memcpy(&v.i64, p, 8);
        break;
    }
    case FERRY_SQLITE_FLOAT: {
        const void *p = fs_take(r, 8);
        if (p)
            memcpy(&v.f64, p, 8);
        break;
    }
    case FERRY_SQLITE_TEXT:
    case FERRY_SQLITE_BLOB:
        v.len = fs_u32(r);
        v.bytes = fs_take(r, v.len);
        break;
    case FERRY_SQLITE_NULL:
        break;
    default:
        r->bad = true;
    }
    return v;
}

typedef struct fs_param {
    const char *name;        /* not NUL-terminated */
    uint32_t name_len;       /* 0: positional */
    uint32_t index;
    fs_value value;
    bool used;
} fs_param;

#define FS_INLINE_PARAMS 8
#define FS_BATCH_ROWS 0x80000000u   /* sqlite.batch's count: the rows form (one statement, many rows) */
#define FS_MAX_BATCH_ROWS (1u << 24)
/* Rows of a statement without parameters come from no input at all, so their number is what bounds the
 * call's work and its result (8 bytes a row): 65,536 rows, a few ms of engine time and 512 KB. */
#define FS_MAX_EMPTY_ROWS (1u << 16)

typedef struct fs_statement {
    const char *sql;
    uint32_t sql_len;
    fs_param *params;        /* inline, or malloc'd when there are more than FS_INLINE_PARAMS */
    uint32_t n_params;
    fs_param inline_params[FS_INLINE_PARAMS];
} fs_statement;

static void fs_statement_free(fs_statement *s)
{
    if (s->params != s->inline_params)
        free(s->params);
    s->params = NULL;
}

/* Reads one statement (free it with fs_statement_free). Returns false on malformed input, or once r's call
 * is given up (r->gave_up): reading two million values costs the engine some 360 ms here. */
static bool fs_read_statement(fs_in *r, fs_statement *s)
{
    s->params = s->inline_params;
    s->sql_len = fs_u32(r);
    s->sql = fs_take(r, s->sql_len);
    s->n_params = fs_u32(r);
    if (r->bad || s->n_params > r->left / 9)
        return false;
    if (s->n_params > FS_INLINE_PARAMS) {
        s->params = calloc(s->n_params, sizeof(fs_param));
        if (!s->params)
            return false;
    } else {
        memset(s->inline_params, 0, sizeof(fs_param) * s->n_params);
    }
    for (uint32_t i = 0; i < s->n_params && !r->bad; i++) {
        if (fs_gave_up_at(r->call, i)) {
            r->gave_up = r->bad = true;
            break;
        }
        fs_param *p = &s->params[i];
        p->name_len = fs_u32(r);
        p->name = fs_take(r, p->name_len);
        p->index = fs_u32(r);
        p->value = fs_read_value(r);
    }
    return !r->bad;
}

/* ---- errors ------------------------------------------------------------------------------------- */

/* Fails a call whose input could not be read: malformed, or its caller gave up while it was read. */
static int fs_unread(ferry_call *c, const fs_in *r, const char *op)
{
    if (r->gave_up)
        return ferry_call_fail(c, SQLITE_INTERRUPT, "%s: interrupted reading its parameters, its caller gave up", op);
    return ferry_call_fail(c, SQLITE_MISUSE, "%s: malformed input", op);
}

/* Where a statement sits, for error messages: the n-th of a batch (or not in a batch when total is 0).
 * The text is formatted only when a message needs it. */
typedef struct fs_where {
    uint32_t index, total;
    char text[96];
} fs_where;

static const char *fs_label(fs_where *w)
{
    if (!w || w->total == 0)
        return "";
    snprintf(w->text, sizeof w->text, "batch statement %u of %u (the batch was rolled back): ", w->index + 1,
             w->total);
    return w->text;
}

/* Fails the call with SQLite's extended code and message; the error offset goes into the detail. */
static int fs_fail_db(ferry_call *c, fs_ctx *x, const char *label, const char *what)
{
    int code = sqlite3_extended_errcode(x->db);
    int offset = sqlite3_error_offset(x->db);
    if ((code & 0xff) == SQLITE_INTERRUPT && ferry_call_cancelled(c))
        return ferry_call_fail(c, code, "%s%s: interrupted, its caller gave up", label, what);
    ferry_call_set_i64(c, offset);
    if (offset >= 0)
        return ferry_call_fail(c, code ? code : SQLITE_ERROR, "%s%s: %s (at offset %d)", label, what,
                               sqlite3_errmsg(x->db), offset);
    return ferry_call_fail(c, code ? code : SQLITE_ERROR, "%s%s: %s", label, what, sqlite3_errmsg(x->db));
}

/* ---- statements --------------------------------------------------------------------------------- */

static void fs_finalize(fs_stmt *s)
{
    if (s->stmt) {
        sqlite3_finalize(s->stmt);
        atomic_fetch_sub(&fs_open_statements, 1);
    }
    free(s->sql);
    free(s->names);
    memset(s, 0, sizeof(*s));
}

/* Whether the rest of the SQL holds another statement (not just space, semicolons or comments). */
static bool fs_more_sql(sqlite3 *db, const char *tail, const char *end)
{
    if (tail >= end)
        return false;
    sqlite3_stmt *next = NULL;
    const char *rest = NULL;
    if (sqlite3_prepare_v2(db, tail, (int)(end - tail), &next, &rest) != SQLITE_OK)
        return true; /* not nothing: let the caller report it */
    if (!next)
        return false;
    sqlite3_finalize(next);
    return true;
}

/* A hash of the SQL text for the statement cache: 8 bytes at a time, so a lookup costs a few
 * multiplications and one memcmp of the text that matches. */
static uint32_t fs_hash(const char *sql, uint32_t len)
{
    uint64_t h = 0x9e3779b97f4a7c15ull ^ len;
    uint32_t i = 0;
    for (; i + 8 <= len; i += 8) {
        uint64_t w;
        memcpy(&w, sql + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdull;
        h ^= h >> 32;
    }
    if (i < len) {
        uint64_t w = 0;
        memcpy(&w, sql + i, len - i);
        h = (h ^ w) * 0xc4ceb9fe1a85ec53ull;
        h ^= h >> 29;
    }
    return (uint32_t)h;
}

/* The cached prepared statement for sql, preparing it if needed. NULL after failing the call. */
static bool fs_solo(const char *sql, uint32_t len)
{
    static const char *const solo_words[] = { "journal_mode", "locking_mode", "vacuum" };
    for (int i = 0; i < 3; i++) {
        size_t n = strlen(solo_words[i]);
        for (uint32_t k = 0; k + n <= len; k++)
            if (strncasecmp(sql + k, solo_words[i], n) == 0)
                return true;
    }
    return false;
}

/* A free cache entry: the next unused one, or the least recently used one, finalized. */
static fs_stmt *fs_cache_slot(fs_ctx *x)
{
    if (x->cached < x->engine->cache_cap)
        return &x->cache[x->cached++];
    fs_stmt *slot = &x->cache[0];
    for (int i = 1; i < x->cached; i++)
        if (x->cache[i].used < slot->used)
            slot = &x->cache[i];
    fs_finalize(slot);
    return slot;
}

static fs_stmt *fs_prepare(ferry_call *c, fs_ctx *x, const char *sql, uint32_t len, fs_where *w)
{
    uint32_t hash = fs_hash(sql, len);
    for (int i = 0; i < x->cached; i++) {
        fs_stmt *e = &x->cache[i];
        if (e->hash == hash && e->len == len && memcmp(e->sql, sql, len) == 0) {
            e->used = ++x->tick;
            return e;
        }
    }
    const char *nul = memchr(sql, 0, len);
    if (nul) {
        ferry_call_set_i64(c, (int64_t)(nul - sql));
        ferry_call_fail(c, SQLITE_MISUSE, "%sprepare: the SQL has a NUL byte at offset %d, where SQLite would stop "
                        "reading it", fs_label(w), (int)(nul - sql));
        return NULL;
    }
    sqlite3_stmt *stmt = NULL;
    const char *tail = NULL;
    if (sqlite3_prepare_v3(x->db, sql, (int)len, SQLITE_PREPARE_PERSISTENT, &stmt, &tail) != SQLITE_OK) {
        fs_fail_db(c, x, fs_label(w), "prepare");
        return NULL;
    }
    if (!stmt) {
        ferry_call_fail(c, SQLITE_MISUSE, "%sprepare: the SQL holds no statement", fs_label(w));
        return NULL;
    }
    atomic_fetch_add(&fs_open_statements, 1);
    if (tail && fs_more_sql(x->db, tail, sql + len)) {
        sqlite3_finalize(stmt);
        atomic_fetch_sub(&fs_open_statements, 1);
        ferry_call_set_i64(c, (int64_t)(tail - sql));
        ferry_call_fail(c, SQLITE_MISUSE, "%sprepare: more than one statement (at offset %d); run several with a batch",
                        fs_label(w), (int)(tail - sql));
        return NULL;
    }
    char *copy = malloc(len ? len : 1);
    if (!copy) {
        sqlite3_finalize(stmt);
        atomic_fetch_sub(&fs_open_statements, 1);
        ferry_call_fail(c, SQLITE_NOMEM, "out of memory");
        return NULL;
    }
    memcpy(copy, sql, len);
    bool plain = true;
    for (int i = 1, n = sqlite3_bind_parameter_count(stmt); i <= n && plain; i++)
        plain = sqlite3_bind_parameter_name(stmt, i) == NULL;
    /* A query: changes nothing and returns rows. (Transaction control, ATTACH and the like are
     * "read-only" to SQLite too, but return no rows.) */
    bool read = sqlite3_stmt_readonly(stmt) && sqlite3_column_count(stmt) > 0;
    /* Statements that fail while another connection has the file open in WAL mode: the anchor's
     * connection (the WAL anchor, below) closes before them. */
    bool solo = fs_solo(sql, len);
    fs_stmt *slot = fs_cache_slot(x);
    *slot = (fs_stmt){ .sql = copy, .len = len, .hash = hash, .plain = plain, .read = read, .solo = solo,
                       .stmt = stmt, .used = ++x->tick };
    return slot;
}

static int fs_bind_value(sqlite3_stmt *st, int i, const fs_value *v)
{
    switch (v->type) {
    case FERRY_SQLITE_INTEGER:
        return sqlite3_bind_int64(st, i, v->i64);
    case FERRY_SQLITE_FLOAT:
        return sqlite3_bind_double(st, i, v->f64);
    case FERRY_SQLITE_TEXT:
        return sqlite3_bind_text64(st, i, v->bytes ? v->bytes : "", v->len, SQLITE_TRANSIENT, SQLITE_UTF8);
    case FERRY_SQLITE_BLOB:
        return sqlite3_bind_blob64(st, i, v->bytes ? v->bytes : "", v->len, SQLITE_TRANSIENT);
    default:
        return sqlite3_bind_null(st, i);
    }
}

/* The common case: a statement whose parameters are all plain '?'s, given as positional values 1..n in
 * order. Binds them by index and returns true; false (nothing bound) if the call is any other shape. */
static bool fs_bind_plain(ferry_call *c, fs_ctx *x, fs_stmt *e, fs_statement *s, fs_where *w, int *rc)
{
    if (!e->plain || (int)s->n_params != sqlite3_bind_parameter_count(e->stmt))
        return false;
    for (uint32_t k = 0; k < s->n_params; k++)
        if (s->params[k].name_len != 0 || s->params[k].index != k + 1)
            return false;
    *rc = 0;
    for (uint32_t k = 0; k < s->n_params; k++) {
        if (fs_bind_value(e->stmt, (int)k + 1, &s->params[k].value) != SQLITE_OK) {
            *rc = fs_fail_db(c, x, fs_label(w), "bind");
            break;
        }
    }
    return true;
}

/* The call's values by where they bind: positional ones by SQLite's parameter number (a bare '?' takes
 * one more than the largest number before it, '?NNN' takes NNN), named ones in an open-addressing table
 * on the name without its ':', '@' or '$'. Built once per statement run, so binding costs one pass over
 * the statement's parameters plus one over the values given, whatever their numbers. */
typedef struct fs_given {
    fs_param **by_number;    /* [n + 1]: the value for parameter number i, or NULL */
    fs_param **by_name;      /* [slots]: open addressing, or NULL when no value is named */
    uint32_t slots;          /* a power of two, at least twice the named values; 0 when none is */
    fs_param *inline_number[FS_INLINE_PARAMS + 1];
    fs_param *inline_name[2 * FS_INLINE_PARAMS];
} fs_given;

static void fs_given_free(fs_given *g)
{
    if (g->by_number != g->inline_number)
        free(g->by_number);
    if (g->by_name != g->inline_name)
        free(g->by_name);
}

static bool fs_bind_cancelled(ferry_call *c, uint32_t k)
{
    return fs_gave_up_at(c, k);
}

static int fs_bind_interrupted(ferry_call *c, fs_where *w)
{
    return ferry_call_fail(c, SQLITE_INTERRUPT, "%sbind: interrupted, its caller gave up", fs_label(w));
}

/* The slot of name in g's table: where it is, or the empty slot where it would go. */
static fs_param **fs_given_slot(fs_given *g, const char *name, uint32_t len)
{
    uint32_t i = fs_hash(name, len) & (g->slots - 1);
    while (g->by_name[i] && !(g->by_name[i]->name_len == len && memcmp(g->by_name[i]->name, name, len) == 0))
        i = (i + 1) & (g->slots - 1);
    return &g->by_name[i];
}

static bool fs_given_alloc(fs_given *g, uint32_t n, uint32_t named)
{
    g->by_number = g->inline_number;
    g->by_name = g->inline_name;
    g->slots = 0;
    if (named) {
        g->slots = 2;
        while (g->slots < 2 * named)
            g->slots <<= 1;
    }
    if (n + 1 > FS_INLINE_PARAMS + 1 && !(g->by_number = calloc((size_t)n + 1, sizeof(fs_param *))))
        return false;
    if (n + 1 <= FS_INLINE_PARAMS + 1)
        memset(g->inline_number, 0, sizeof(g->inline_number));
    if (g->slots > 2 * FS_INLINE_PARAMS && !(g->by_name = calloc(g->slots, sizeof(fs_param *))))
        return false;
    if (g->slots <= 2 * FS_INLINE_PARAMS)
        memset(g->inline_name, 0, sizeof(g->inline_name));
    return true;
}

/* Files every value of the call under its number or name; fails the call on a value the statement has
 * no parameter for, or one given twice. */
static int fs_given_build(ferry_call *c, fs_statement *s, uint32_t n, fs_given *g, fs_where *w)
{
    uint32_t named = 0;
    for (uint32_t k = 0; k < s->n_params; k++)
        named += s->params[k].name_len != 0;
    if (!fs_given_alloc(g, n, named))
        return ferry_call_fail(c, SQLITE_NOMEM, "%sbind: no memory for %u parameters", fs_label(w), s->n_params);
    for (uint32_t k = 0; k < s->n_params; k++) {
        fs_param *p = &s->params[k];
        if (fs_bind_cancelled(c, k))
            return fs_bind_interrupted(c, w);
        if (p->name_len) {
            fs_param **slot = fs_given_slot(g, p->name, p->name_len);
            if (*slot)
                return ferry_call_fail(c, SQLITE_RANGE, "%sparameter :%.*s is given twice", fs_label(w),
                                       (int)p->name_len, p->name);
            *slot = p;
        } else if (p->index == 0 || p->index > n) {
            return ferry_call_fail(c, SQLITE_RANGE, "%sthe statement has no parameter ?%u (it has %u)",
                                   fs_label(w), p->index, n);
        } else if (g->by_number[p->index]) {
            return ferry_call_fail(c, SQLITE_RANGE, "%spositional parameter %u is given twice", fs_label(w),
                                   p->index);
        } else {
            g->by_number[p->index] = p;
        }
    }
    return 0;
}

/* A scope variable of the call's context as a value to bind; false if the context has no such variable. */
static bool fs_scope_value(ferry_call *c, const char *name, fs_value *v)
{
    ferry_value var;
    if (ferry_call_var(c, name, &var) != 0)
        return false;
    switch (var.type) {
    case FERRY_VAR_I64:
        *v = (fs_value){ FERRY_SQLITE_INTEGER, var.i64, 0, NULL, 0 };
        break;
    case FERRY_VAR_F64:
        *v = (fs_value){ FERRY_SQLITE_FLOAT, 0, var.f64, NULL, 0 };
        break;
    case FERRY_VAR_STRING:
        *v = (fs_value){ FERRY_SQLITE_TEXT, 0, 0, var.bytes, (uint32_t)var.len };
        break;
    default:
        *v = (fs_value){ FERRY_SQLITE_BLOB, 0, 0, var.bytes, (uint32_t)var.len };
        break;
    }
    return true;
}

/* Every parameter's name, [0] unused, copied into one block the statement owns: SQLite's own strings
 * do not live as long as the statement, since a schema change re-prepares it and frees them (the fuzzer
 * found the cached pointers read after that). */
static const char **fs_parameter_names(sqlite3_stmt *st, uint32_t n)
{
    size_t bytes = ((size_t)n + 1) * sizeof(char *);
    for (uint32_t i = 1; i <= n; i++) {
        const char *name = sqlite3_bind_parameter_name(st, (int)i);
        bytes += name ? strlen(name) + 1 : 0;
    }
    const char **names = calloc(1, bytes);
    if (!names)
        return NULL;
    char *at = (char *)(names + (size_t)n + 1);
    for (uint32_t i = 1; i <= n; i++) {
        const char *name = sqlite3_bind_parameter_name(st, (int)i);
        if (name) {
            size_t len = strlen(name) + 1;
            names[i] = memcpy(at, name, len);
            at += len;
        }
    }
    return names;
}

static bool fs_named(const char *pname)
{
    return pname && (pname[0] == ':' || pname[0] == '@' || pname[0] == '$');
}

/* Binds parameter i, positional value `position` or (position 0) the named parameter pname: the call's
 * value for it, else (for a named one) the context's scope variable. */
static int fs_bind_one(ferry_call *c, fs_ctx *x, sqlite3_stmt *st, int i, const char *pname, uint32_t position,
                       fs_given *g, fs_where *w)
{
    fs_param *given = position ? g->by_number[position]
                               : g->slots ? *fs_given_slot(g, pname + 1, (uint32_t)strlen(pname + 1)) : NULL;
    fs_value scope;
    const fs_value *v = given ? &given->value : NULL;
    if (given) {
        given->used = true;
    } else if (!position && fs_scope_value(c, pname + 1, &scope)) {
        v = &scope;
    } else if (!position) {
        return ferry_call_fail(c, SQLITE_RANGE, "%sno value for parameter %s: it was not given with the call and "
                               "context '%s' has no variable '%s'", fs_label(w), pname, ferry_call_context_name(c),
                               pname + 1);
    } else {
        return ferry_call_fail(c, SQLITE_RANGE, "%sno value for positional parameter %u (%s): positional parameters "
                               "must be given with the call, and a bare '?' takes one more than the largest "
                               "positional number before it", fs_label(w), position, pname ? pname : "?");
    }
    return fs_bind_value(st, i, v) == SQLITE_OK ? 0 : fs_fail_db(c, x, fs_label(w), "bind");
}

/* Binds every parameter: the call's own values first, then the context's scope variables. Positional
 * values fill the parameters that are not named, numbered as SQLite numbers them with the named ones left
 * out: '?NNN' takes value NNN and a bare '?' one more than the largest number before it (so in
 * "SELECT ?2, ?" the '?' takes value 3, and in "SELECT :a, ?" value 1). Linear in the parameters and
 * values, and a caller that gives up stops it. */
static int fs_bind(ferry_call *c, fs_ctx *x, fs_stmt *e, fs_statement *s, fs_where *w)
{
    sqlite3_stmt *st = e->stmt;
    uint32_t n = (uint32_t)sqlite3_bind_parameter_count(st);
    if (!e->names && !(e->names = fs_parameter_names(st, n)))
        return ferry_call_fail(c, SQLITE_NOMEM, "%sbind: no memory for %u parameter names", fs_label(w), n);
    fs_given g;
    int rc = fs_given_build(c, s, n, &g, w);
    uint32_t largest = 0;
    for (uint32_t i = 1; rc == 0 && i <= n; i++) {
        const char *pname = e->names[i];
        uint32_t position = 0;
        if (!fs_named(pname)) {
            position = pname ? (uint32_t)strtoul(pname + 1, NULL, 10) : largest + 1;
            largest = position > largest ? position : largest;
        }
        rc = fs_bind_cancelled(c, i) ? fs_bind_interrupted(c, w)
                                     : fs_bind_one(c, x, st, (int)i, pname, position, &g, w);
    }
    for (uint32_t k = 0; rc == 0 && k < s->n_params; k++) {
        fs_param *p = &s->params[k];
        if (p->used)
            continue;
        if (p->name_len)
            rc = ferry_call_fail(c, SQLITE_RANGE, "%sthe statement has no parameter :%.*s", fs_label(w),
                                 (int)p->name_len, p->name);
        else
            rc = ferry_call_fail(c, SQLITE_RANGE, "%sthe statement has no positional parameter ?%u", fs_label(w),
                                 p->index);
    }
    fs_given_free(&g);
    return rc;
}

/* ---- held read transactions ---------------------------------------------------------------------
 *
 * An autocommit query opens and closes a read transaction: a lock and an unlock of the database, a
 * third of the cost of a point select in memory. On an in-memory database, which only this engine's
 * connections can reach, the engine keeps a query's read transaction open for the connection's next
 * queries, and commits every such transaction before any statement that may write (or control a
 * transaction) runs on any connection. No write can happen in between, so a query in a held
 * transaction sees exactly what it would have seen in its own. Not for files: another process could
 * commit meanwhile, and a held transaction would not see it. */

static bool fs_step_once(sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE;
}

static void fs_forget_read(fs_ctx *x)
{
    if (x->held) {
        x->held = false;
        x->engine->held--;
    }
}

/* Ends every held read transaction: before anything but a query runs. */
static void fs_release_reads(fs_engine *e)
{
    for (fs_ctx *o = e->contexts; o && e->held > 0; o = o->next) {
        if (!o->held)
            continue;
        /* A read transaction commits without fail; should it not, roll it back. */
        if (!sqlite3_get_autocommit(o->db) && !fs_step_once(o->commit))
            sqlite3_exec(o->db, "ROLLBACK", NULL, NULL, NULL);
        fs_forget_read(o);
    }
}

/* Before a query on x: open a held read transaction if x is in autocommit mode. */
static void fs_hold_read(fs_ctx *x)
{
    if (x->held) {
        if (!sqlite3_get_autocommit(x->db))
            return;
        fs_forget_read(x); /* an error ended it */
    }
    if (!sqlite3_get_autocommit(x->db) || sqlite3_db_name(x->db, 2) != NULL)
        return; /* the caller's own transaction; or an attached database, which may be a file */
    if (!x->begin &&
        (sqlite3_prepare_v3(x->db, "BEGIN", -1, SQLITE_PREPARE_PERSISTENT, &x->begin, NULL) != SQLITE_OK ||
         sqlite3_prepare_v3(x->db, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &x->commit, NULL) != SQLITE_OK)) {
        sqlite3_finalize(x->begin);
        x->begin = NULL;
        return;
    }
    if (fs_step_once(x->begin)) {
        x->held = true;
        x->engine->held++;
    }
}

/* ---- the WAL anchor -----------------------------------------------------------------------------
 *
 * In WAL mode every query takes a shared lock on a read mark of the WAL index and drops it after:
 * two fcntl system calls, ~1.5 of ~2 us of a point select on this kind of VM. SQLite skips the system
 * call when another connection of the same process already holds that lock (it counts them), which is
 * why many connections reading at once on many threads are cheap, and one engine thread running its
 * connections' queries one after another is not. The anchor is one more connection to the file that
 * holds a read transaction, and so that lock, while the engine is running queries: theirs then cost no
 * system call. The queries still each open their own transaction, so each sees every commit made
 * before it, by this process or another. The anchor is used on the engine thread only, like every
 * other handle.
 *
 * What holding costs others: a checkpoint cannot copy pages past the anchor's snapshot, and the WAL
 * cannot start over from its beginning, while the anchor holds. So it is let go before anything but
 * a query runs on any connection of the engine (our own commits then checkpoint as usual), renewed
 * (let go and taken again, on the latest snapshot) by a query that finds it older than a tick (1 ms),
 * and let go when the engine goes idle (the engine's on-idle hook: after 1 ms without a call, or
 * before it sleeps): another process's checkpoint waits at most about a tick behind the latest
 * commit, as it would behind any reader, and nothing is held while the engine is idle. */

#define FS_ANCHOR_TICK_NS 1000000
#define FS_ANCHOR_RUN 4 /* queries in a row (no write between) before the anchor is taken */

static int64_t fs_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static bool fs_anchor_take(fs_anchor *a)
{
    /* A read transaction, and then the mode: only a WAL file gets an anchor. */
    if (!fs_step_once(a->begin))
        return false;
    bool ok = sqlite3_step(a->read) == SQLITE_ROW;
    sqlite3_reset(a->read);
    if (ok) {
        ok = sqlite3_step(a->mode) == SQLITE_ROW &&
             strcasecmp((const char *)sqlite3_column_text(a->mode, 0), "wal") == 0;
        sqlite3_reset(a->mode);
        if (!ok)
            a->off = true;
    }
    if (!ok && !sqlite3_get_autocommit(a->db) && !fs_step_once(a->commit))
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    a->held = ok;
    if (ok)
        a->taken_ns = fs_now_ns();
    return ok;
}

static void fs_anchor_drop(fs_anchor *a)
{
    if (!sqlite3_get_autocommit(a->db) && !fs_step_once(a->commit))
        sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
    a->held = false;
}

/* At engine start: an anchor for a WAL file (its connection opens lazily). */
static fs_anchor *fs_anchor_new(void)
{
    return calloc(1, sizeof(fs_anchor));
}

/* Closes the anchor's connection (reopened by the next query that wants it). */
static void fs_anchor_close(fs_anchor *a)
{
    if (!a->db)
        return;
    if (a->held)
        fs_anchor_drop(a);
    sqlite3_finalize(a->begin);
    sqlite3_finalize(a->read);
    sqlite3_finalize(a->commit);
    sqlite3_finalize(a->mode);
    sqlite3_close(a->db);
    a->db = NULL;
    a->begin = a->read = a->commit = a->mode = NULL;
}

static void fs_anchor_free(fs_anchor *a)
{
    if (!a)
        return;
    fs_anchor_close(a);
    free(a);
}

/* The engine's on-idle hook: nothing is held while the engine is idle. */
static void fs_anchor_on_idle(void *data)
{
    fs_anchor *a = data;
    a->run = 0;
    if (a->held)
        fs_anchor_drop(a);
}

/* Before a query on the file: make sure the anchor holds, on a snapshot at most a tick old. */
static void fs_anchor_hold(fs_engine *e)
{
    fs_anchor *a = e->anchor;
    if (a->held) {
        if (fs_now_ns() - a->taken_ns < FS_ANCHOR_TICK_NS)
            return;
        fs_anchor_drop(a); /* renew: the latest snapshot, the latest read mark */
        fs_anchor_take(a);
        return;
    }
    /* Taking the anchor costs about what two queries save: only once queries come in a run, so that
     * writes and queries taking turns do not pay for it over and over. */
    if (a->run < FS_ANCHOR_RUN) {
        a->run++;
        return;
    }
    if (a->off)
        return;
    if (!a->db) {
        /* No busy handler: if the file is busy (another process recovering it), go without. */
        if (sqlite3_open_v2(e->path, &a->db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
            sqlite3_prepare_v3(a->db, "BEGIN", -1, SQLITE_PREPARE_PERSISTENT, &a->begin, NULL) != SQLITE_OK ||
            sqlite3_prepare_v3(a->db, "PRAGMA schema_version", -1, SQLITE_PREPARE_PERSISTENT, &a->read, NULL) != SQLITE_OK ||
            sqlite3_prepare_v3(a->db, "COMMIT", -1, SQLITE_PREPARE_PERSISTENT, &a->commit, NULL) != SQLITE_OK ||
            sqlite3_prepare_v3(a->db, "PRAGMA journal_mode", -1, SQLITE_PREPARE_PERSISTENT, &a->mode, NULL) != SQLITE_OK) {
            fs_anchor_close(a);
            a->off = true; /* until a statement may change it */
            return;
        }
    }
    fs_anchor_take(a);
}

/* Before anything but a query: let the anchor go (and look at the mode again); before a statement that
 * may need the file to itself, close its connection too. */
static void fs_anchor_release(fs_engine *e, bool solo)
{
    fs_anchor *a = e->anchor;
    a->run = 0;
    if (a->held)
        fs_anchor_drop(a);
    if (solo)
        fs_anchor_close(a);
    a->off = false;
}

/* Before a statement runs: a write lets go of the read transactions the engine holds; a query takes
 * (or keeps) one. */
static void fs_read_locks(fs_ctx *x, const fs_stmt *e)
{
    if (!e->read) {
        fs_release_reads(x->engine);
        if (x->engine->anchor)
            fs_anchor_release(x->engine, e->solo);
    } else if (x->memory) {
        fs_hold_read(x);
    } else if (x->engine->anchor) {
        fs_anchor_hold(x->engine);
    }
}

/* Appends a result's header (changes and last_insert_rowid as placeholders, then the column names);
 * returns the offset of the placeholders. */
static size_t fs_put_header(fs_buf *out, sqlite3_stmt *st, int cols)
{
    size_t header = out->len;
    fs_put_i64(out, 0); /* changes, filled in once the statement is done */
    fs_put_i64(out, 0); /* last_insert_rowid */
    fs_put_u32(out, (uint32_t)cols);
    for (int i = 0; i < cols; i++) {
        const char *name = sqlite3_column_name(st, i);
        uint32_t n = name ? (uint32_t)strlen(name) : 0;
        fs_put_u32(out, n);
        fs_put(out, name, n);
    }
    return header;
}

/* Runs one statement; appends its result to out (if not NULL) and returns 0, or fails the call. Reads
 * nothing of s once the statement is bound, so out may overwrite the memory s was read from. */
static int fs_run(ferry_call *c, fs_ctx *x, fs_statement *s, fs_buf *out, int64_t *changes, fs_where *w)
{
    fs_stmt *e = fs_prepare(c, x, s->sql, s->sql_len, w);
    if (!e)
        return -1;
    sqlite3_stmt *st = e->stmt;
    fs_read_locks(x, e);
    int rc;
    if (!fs_bind_plain(c, x, e, s, w, &rc))
        rc = fs_bind(c, x, e, s, w);
    if (rc != 0) {
        sqlite3_clear_bindings(st);
        return rc;
    }
    int64_t total_before = sqlite3_total_changes64(x->db);
    x->current = c;
    /* Release: a cancel hook that loads this connection also sees it fully opened. It stays open while
     * the call runs, and ferry_engine_cancel runs hooks only inside the call (ferry.h). */
    atomic_store_explicit(&x->engine->stepping, x->db, memory_order_release);
    rc = sqlite3_step(st);
    /* The columns after the first step: a schema change since the statement was prepared makes SQLite
     * prepare it again inside that step, and may change its columns. */
    int cols = sqlite3_column_count(st);
    size_t header = out ? fs_put_header(out, st, cols) : 0;
    for (; rc == SQLITE_ROW; rc = sqlite3_step(st)) {
        if (out) {
            for (int i = 0; i < cols; i++)
                fs_put_value(out, sqlite3_column_value(st, i));
            if (out->oom)
                break;
        }
    }
    atomic_store_explicit(&x->engine->stepping, NULL, memory_order_relaxed);
    x->current = NULL;
    if (rc != SQLITE_DONE && rc != SQLITE_ROW) {
        fs_fail_db(c, x, fs_label(w), "step");
        sqlite3_reset(st);
        sqlite3_clear_bindings(st);
        return -1;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (out && out->oom)
        return ferry_call_fail(c, SQLITE_NOMEM, "%sout of memory for the result", fs_label(w));
    /* sqlite3_changes64 keeps the count of the last INSERT, UPDATE or DELETE: a statement that changed
     * nothing (a SELECT, DDL) would report an earlier one's. */
    int64_t ch = sqlite3_total_changes64(x->db) != total_before ? sqlite3_changes64(x->db) : 0;
    if (changes)
        *changes = ch;
    if (out) {
        int64_t rowid = sqlite3_last_insert_rowid(x->db);
        memcpy(out->p + header, &ch, 8);
        memcpy(out->p + header + 8, &rowid, 8);
    }
    return 0;
}

static fs_ctx *fs_context(ferry_call *c)
{
    fs_ctx *x = ferry_call_context_data(c);
    if (!x)
        ferry_call_fail(c, SQLITE_MISUSE, "context '%s' has no SQLite connection", ferry_call_context_name(c));
    return x;
}

static int op_exec(ferry_call *c, void *data)
{
    (void)data;
    ferry_call_set_i64(c, -1); /* the failure's detail: the error offset, unknown until SQLite says */
    fs_ctx *x = fs_context(c);
    if (!x)
        return -1;
    size_t len;
    const void *in = ferry_call_input(c, &len);
    fs_in r = { in, len, false, c, false };
    fs_statement s;
    if (!fs_read_statement(&r, &s) || r.left != 0) {
        fs_statement_free(&s);
        return fs_unread(c, &r, "sqlite.exec");
    }
    fs_buf out = { 0 };
    int rc = fs_run(c, x, &s, &out, NULL, NULL);
    fs_statement_free(&s);
    if (rc == 0 && out.oom)
        rc = ferry_call_fail(c, SQLITE_NOMEM, "out of memory for the result");
    if (rc == 0)
        ferry_call_adopt_output(c, out.p, out.len);
    else
        fs_buf_free(&out);
    return rc;
}

/* ---- channels ----------------------------------------------------------------------------------- */

#define FS_MAX_CHANNELS 65536u
#define FS_MAX_CHANNEL_BYTES (16u << 20)

/* The id of a channel slot for a new channel: a closed one, else a new one. UINT32_MAX if out of memory. */
static uint32_t fs_channel_slot(fs_engine *e)
{
    if (e->free_chan != FS_NO_CHANNEL) {
        uint32_t id = e->free_chan;
        e->free_chan = e->chans[id].next_free;
        return id;
    }
    if (e->n_chans == e->chans_cap) {
        uint32_t n = e->chans_cap ? e->chans_cap * 2 : 16;
        fs_chan *chans = realloc(e->chans, sizeof(fs_chan) * n);
        if (!chans)
            return FS_NO_CHANNEL;
        e->chans = chans;
        e->chans_cap = n;
    }
    return e->n_chans++;
}

/* sqlite.channel: arg0 = capacity in bytes -> the channel's address; its id is in its first 4 bytes.
 * Internal (FERRY_OP_INTERNAL): the address goes to the binding's own code only, and no op takes it. */
static int op_channel(ferry_call *c, void *data)
{
    fs_engine *e = data;
    int64_t cap = ferry_call_arg(c, 0);
    if (cap < 64 || cap > FS_MAX_CHANNEL_BYTES)
        return ferry_call_fail(c, SQLITE_MISUSE, "sqlite.channel: capacity %lld is not 64..%u bytes", (long long)cap,
                               FS_MAX_CHANNEL_BYTES);
    if (e->n_open == FS_MAX_CHANNELS)
        return ferry_call_fail(c, SQLITE_MISUSE, "sqlite.channel: all %u channels are open (sqlite.channel_close "
                               "frees one)", FS_MAX_CHANNELS);
    /* Cache-line aligned: a short statement and its result each fit the line the call moves. */
    unsigned char *p = aligned_alloc(64, ((size_t)cap + 63) & ~(size_t)63);
    uint32_t id = p ? fs_channel_slot(e) : FS_NO_CHANNEL;
    if (id == FS_NO_CHANNEL) {
        free(p);
        return ferry_call_fail(c, SQLITE_NOMEM, "out of memory for a channel of %lld bytes", (long long)cap);
    }
    e->chans[id] = (fs_chan){ .p = p, .cap = (uint32_t)cap, .next_free = FS_NO_CHANNEL };
    e->n_open++;
    memcpy(p, &id, 4);
    ferry_call_set_i64(c, (int64_t)(uintptr_t)p);
    return 0;
}

static fs_chan *fs_channel(ferry_call *c, fs_engine *e, int64_t id, const char *op)
{
    if (id < 0 || id >= (int64_t)e->n_chans || !e->chans[id].p) {
        ferry_call_fail(c, SQLITE_MISUSE, "%s: no channel %lld", op, (long long)id);
        return NULL;
    }
    return &e->chans[id];
}

/* sqlite.channel_close: arg0 = channel id -> frees the channel (its memory too: the caller is done with
 * it) and makes its id free for the next sqlite.channel, so closed channels never use up the limit. */
static int op_channel_close(ferry_call *c, void *data)
{
    fs_engine *e = data;
    int64_t id = ferry_call_arg(c, 0);
    fs_chan *ch = fs_channel(c, e, id, "sqlite.channel_close");
    if (!ch)
        return -1;
    free(ch->p);
    free(ch->spill);
    *ch = (fs_chan){ .next_free = e->free_chan };
    e->free_chan = (uint32_t)id;
    e->n_open--;
    return 0;
}

/* sqlite.run: arg0 = channel id, arg1 = the length of the statement written at the channel's start ->
 * the result's length, written over it; or -1 when the result did not fit: sqlite.spill hands it over. */
static int op_run(ferry_call *c, void *data)
{
    fs_engine *e = data;
    ferry_call_set_i64(c, -1);
    fs_chan *ch = fs_channel(c, e, ferry_call_arg(c, 0), "sqlite.run");
    if (!ch)
        return -1;
    int64_t len = ferry_call_arg(c, 1);
    if (len < 0 || len > ch->cap)
        return ferry_call_fail(c, SQLITE_MISUSE, "sqlite.run: length %lld exceeds the channel's %u bytes",
                               (long long)len, ch->cap);
    free(ch->spill); /* a result nobody took */
    ch->spill = NULL;
    ch->spill_ctx = 0;
    fs_ctx *x = fs_context(c);
    if (!x)
        return -1;
    fs_in r = { ch->p, (size_t)len, false, c, false };
    fs_statement s;
    if (!fs_read_statement(&r, &s) || r.left != 0) {
        fs_statement_free(&s);
        return fs_unread(c, &r, "sqlite.run");
    }
    fs_buf out = { .p = ch->p, .cap = ch->cap, .borrowed = true };
    int rc = fs_run(c, x, &s, &out, NULL, NULL);
    fs_statement_free(&s);
    if (rc == 0 && out.oom)
        rc = ferry_call_fail(c, SQLITE_NOMEM, "out of memory for the result");
    if (rc != 0) {
        fs_buf_free(&out);
        return rc;
    }
    if (out.borrowed) {
        ferry_call_set_i64(c, (int64_t)out.len);
    } else {
        ch->spill = out.p;
        ch->spill_len = out.len;
        ch->spill_ctx = ferry_call_context(c);
    }
    return 0;
}

/* sqlite.spill: input = u32 channel id -> the result of that channel's last sqlite.run that did not fit.
 * Only in the context that ran it: a result is its context's, whoever else may name the channel. */
static int op_spill(ferry_call *c, void *data)
{
    fs_engine *e = data;
    size_t len;
    const void *in = ferry_call_input(c, &len);
    uint32_t id = UINT32_MAX;
    if (len == 4)
        memcpy(&id, in, 4);
    fs_chan *ch = fs_channel(c, e, id, "sqlite.spill");
    if (!ch)
        return -1;
    if (!ch->spill || ch->spill_ctx != ferry_call_context(c))
        return ferry_call_fail(c, SQLITE_MISUSE, "sqlite.spill: channel %u holds no result of context '%s'", id,
                               ferry_call_context_name(c));
    ferry_call_adopt_output(c, ch->spill, ch->spill_len);
    ch->spill = NULL;
    return 0;
}

static bool fs_plain(fs_ctx *x, const char *sql)
{
    return sqlite3_exec(x->db, sql, NULL, NULL, NULL) == SQLITE_OK;
}

/* Runs a batch's n statements inside its savepoint, appending each one's change count to out: the one
 * statement with each row's values (rows form, one not NULL), or each statement as read from r. Returns
 * 0 or fails the call at the first statement that fails. */
static int fs_batch_run(ferry_call *c, fs_ctx *x, fs_in *r, fs_statement *one, uint32_t n, fs_buf *out)
{
    for (uint32_t i = 0; i < n; i++) {
        fs_statement s;
        fs_statement *st = &s;
        if (one) {
            st = one;
            for (uint32_t k = 0; k < one->n_params; k++)
                one->params[k] = (fs_param){ .index = k + 1, .value = fs_read_value(r) };
            if (r->bad)
                return ferry_call_fail(c, SQLITE_MISUSE, "sqlite.batch: malformed row %u", i);
        } else if (!fs_read_statement(r, &s)) {
            fs_statement_free(&s);
            return r->gave_up ? ferry_call_fail(c, SQLITE_INTERRUPT, "sqlite.batch: interrupted reading statement "
                                                "%u, its caller gave up", i + 1)
                              : ferry_call_fail(c, SQLITE_MISUSE, "sqlite.batch: malformed statement %u", i);
        }
        int64_t changes = 0;
        fs_where w = { .index = i, .total = n };
        int rc = ferry_call_cancelled(c) ? ferry_call_fail(c, SQLITE_INTERRUPT, "%sinterrupted, its caller gave up",
                                                            fs_label(&w))
                                         : fs_run(c, x, st, NULL, &changes, &w);
        if (!one)
            fs_statement_free(&s);
        if (rc != 0)
            return rc;
        fs_put_i64(out, changes);
    }
    return 0;
}

/* Reads a batch's header from r: the statement count into *n and, in the rows form, the one statement
 * into *one (*rows set; free it with fs_statement_free). Returns 0 or fails the call on malformed input. */
static int fs_batch_header(ferry_call *c, fs_in *r, uint32_t *n, bool *rows, fs_statement *one)
{
    *n = fs_u32(r);
    /* The rows form: one statement, then n rows of its positional values. */
    *rows = (*n & FS_BATCH_ROWS) != 0;
    *n &= ~FS_BATCH_ROWS;
    one->params = one->inline_params;
    if (!*rows)
        return r->bad || *n > r->left / 8 ? ferry_call_fail(c, SQLITE_MISUSE, "sqlite.batch: malformed input") : 0;
    one->sql_len = fs_u32(r);
    one->sql = fs_take(r, one->sql_len);
    one->n_params = fs_u32(r);
    if (!r->bad && one->n_params > FS_INLINE_PARAMS && one->n_params <= r->left)
        one->params = calloc(one->n_params, sizeof(fs_param));
    if (r->bad || !one->params || one->n_params > r->left || *n > FS_MAX_BATCH_ROWS ||
        (one->n_params > 0 && *n > r->left / one->n_params)) {
        fs_statement_free(one);
        return ferry_call_fail(c, SQLITE_MISUSE, "sqlite.batch: malformed input");
    }
    if (one->n_params == 0 && *n > FS_MAX_EMPTY_ROWS)
        return ferry_call_fail(c, SQLITE_TOOBIG, "sqlite.batch: %u rows of a statement without parameters; at "
                               "most %u in one call", *n, FS_MAX_EMPTY_ROWS);
    return 0;
}

/* Runs the batch inside savepoint ferry_batch, released when every statement succeeded and the input is
 * used up, rolled back otherwise. A savepoint is one transaction outside a transaction, and nests inside
 * one the caller opened. Returns 0 or fails the call. */
static int fs_batch_in_savepoint(ferry_call *c, fs_ctx *x, fs_in *r, fs_statement *one, uint32_t n, fs_buf *out)
{
    fs_release_reads(x->engine);
    if (x->engine->anchor)
        fs_anchor_release(x->engine, false);
    if (!fs_plain(x, "SAVEPOINT ferry_batch"))
        return fs_fail_db(c, x, "batch: ", "begin");
    int rc = fs_batch_run(c, x, r, one, n, out);
    if (rc == 0 && r->left != 0)
        rc = ferry_call_fail(c, SQLITE_MISUSE, "sqlite.batch: trailing bytes after %u statements", n);
    if (rc == 0 && !fs_plain(x, "RELEASE ferry_batch"))
        rc = fs_fail_db(c, x, "batch: ", "commit");
    if (rc != 0) {
        fs_plain(x, "ROLLBACK TO ferry_batch");
        fs_plain(x, "RELEASE ferry_batch");
    }
    return rc;
}

static int op_batch(ferry_call *c, void *data)
{
    (void)data;
    ferry_call_set_i64(c, -1);
    fs_ctx *x = fs_context(c);
    if (!x)
        return -1;
    size_t len;
    const void *in = ferry_call_input(c, &len);
    fs_in r = { in, len, false, c, false };
    uint32_t n;
    bool rows;
    fs_statement one;
    int rc = fs_batch_header(c, &r, &n, &rows, &one);
    if (rc != 0)
        return rc;
    fs_buf out = { 0 };
    fs_put_u32(&out, n);
    rc = fs_batch_in_savepoint(c, x, &r, rows ? &one : NULL, n, &out);
    if (rows)
        fs_statement_free(&one);
    if (rc == 0 && out.oom)
        rc = ferry_call_fail(c, SQLITE_NOMEM, "out of memory for the result");
    if (rc != 0) {
        fs_buf_free(&out);
        return rc;
    }
    ferry_call_adopt_output(c, out.p, out.len);
    return 0;
}

/* ---- functions implemented by the host ---------------------------------------------------------- */

static void fs_trampoline(sqlite3_context *sctx, int argc, sqlite3_value **argv)
{
    fs_fn *fn = sqlite3_user_data(sctx);
    ferry_sqlite_dispatch_fn dispatch = atomic_load_explicit(&fs_dispatcher, memory_order_acquire);
    if (!dispatch) {
        sqlite3_result_error(sctx, "no function dispatcher is installed", -1);
        return;
    }
    fs_buf args = { 0 };
    for (int i = 0; i < argc; i++)
        fs_put_value(&args, argv[i]);
    if (args.oom) {
        fs_buf_free(&args);
        sqlite3_result_error_nomem(sctx);
        return;
    }
    ferry_sqlite_result res = { .type = FERRY_SQLITE_ERROR };
    dispatch(fn->id, args.p, args.len, argc, &res);
    fs_buf_free(&args);
    switch (res.type) {
    case FERRY_SQLITE_INTEGER:
        sqlite3_result_int64(sctx, res.i64);
        break;
    case FERRY_SQLITE_FLOAT:
        sqlite3_result_double(sctx, res.f64);
        break;
    case FERRY_SQLITE_TEXT:
        sqlite3_result_text64(sctx, res.ptr ? res.ptr : "", res.len, res.ptr ? free : SQLITE_STATIC, SQLITE_UTF8);
        break;
    case FERRY_SQLITE_BLOB:
        sqlite3_result_blob64(sctx, res.ptr ? res.ptr : "", res.len, res.ptr ? free : SQLITE_STATIC);
        break;
    case FERRY_SQLITE_NULL:
        sqlite3_result_null(sctx);
        break;
    default:
        sqlite3_result_error(sctx, res.ptr ? res.ptr : "function failed", res.ptr ? (int)res.len : -1);
        free(res.ptr);
        break;
    }
}

static int fs_create_function(sqlite3 *db, fs_fn *fn)
{
    int flags = SQLITE_UTF8 | ((fn->flags & 1) ? SQLITE_DETERMINISTIC : 0);
    return sqlite3_create_function_v2(db, fn->name, fn->n_args, flags, fn, fs_trampoline, NULL, NULL, NULL);
}

static int op_function(ferry_call *c, void *data)
{
    fs_engine *e = data;
    int64_t n_args = ferry_call_arg(c, 0);
    size_t len;
    const unsigned char *in = ferry_call_input(c, &len);
    if (len < 9 || len > 8 + 255 || n_args < -1 || n_args > 127 || memchr(in + 8, 0, len - 8))
        return ferry_call_fail(c, SQLITE_MISUSE, "sqlite.function: malformed input");
    int32_t id;
    uint32_t flags;
    memcpy(&id, in, 4);
    memcpy(&flags, in + 4, 4);
    if (e->n_fns == e->fns_cap) {
        int cap = e->fns_cap ? e->fns_cap * 2 : 8;
        fs_fn **fns = realloc(e->fns, sizeof(fs_fn *) * (size_t)cap);
        if (!fns)
            return ferry_call_fail(c, SQLITE_NOMEM, "out of memory");
        e->fns = fns;
        e->fns_cap = cap;
    }
    fs_fn *fn = calloc(1, sizeof(*fn));
    char *name = fn ? strndup((const char *)in + 8, len - 8) : NULL;
    if (!name) {
        free(fn);
        return ferry_call_fail(c, SQLITE_NOMEM, "out of memory");
    }
    *fn = (fs_fn){ e, name, (int)n_args, id, (int)flags };
    for (fs_ctx *x = e->contexts; x; x = x->next) {
        if (fs_create_function(x->db, fn) != SQLITE_OK) {
            int rc = fs_fail_db(c, x, "", "create function");
            free(fn->name);
            free(fn);
            return rc;
        }
    }
    e->fns[e->n_fns++] = fn;
    return 0;
}

/* ---- connections, one per context --------------------------------------------------------------- */

/* The busy handler. A lock held by another connection of this engine can only be released by this
 * same thread, so waiting for it would only stall every context: fail at once. A lock held by another
 * process is waited for, up to busy_timeout. */
static int fs_busy(void *p, int count)
{
    fs_ctx *x = p;
    for (fs_ctx *o = x->engine->contexts; o; o = o->next)
        if (o != x && !sqlite3_get_autocommit(o->db))
            return 0;
    int waited = 0; /* ms slept so far: 1, 2, 4, .. 32, 32, .. */
    for (int i = 0; i < count; i++)
        waited += i < 5 ? 1 << i : 32;
    if (waited >= x->engine->busy_ms)
        return 0;
    sqlite3_sleep(count < 5 ? 1 << count : 32);
    return 1;
}

/* The cancel hook (ferry_registry_on_cancel): interrupts the statement the cancelled call is stepping.
 * sqlite3_interrupt is safe from any thread while the connection is open. An interrupt that arrives
 * before the statement starts is cleared by SQLite when it starts; fs_progress, which polls the call's
 * cancel flag, stops that statement instead. */
static void fs_cancel(void *data)
{
    fs_engine *e = data;
    sqlite3 *db = atomic_load_explicit(&e->stepping, memory_order_acquire);
    if (db)
        sqlite3_interrupt(db);
}

static int fs_progress(void *p)
{
    fs_ctx *x = p;
    return x->current && ferry_call_cancelled(x->current);
}

/* A new connection's settings: WAL (main: the first writable connection to a file), synchronous, and
 * every registered function. Returns false with a message in err. */
static bool fs_configure(fs_engine *e, sqlite3 *db, const char *name, bool main, char *err, size_t errlen)
{
    if (main && e->wal && e->path && sqlite3_exec(db, "PRAGMA journal_mode=WAL", NULL, NULL, NULL) != SQLITE_OK) {
        snprintf(err, errlen, "cannot switch %s to WAL: %s", name, sqlite3_errmsg(db));
        return false;
    }
    if (e->synchronous >= 0) {
        char pragma[32];
        snprintf(pragma, sizeof pragma, "PRAGMA synchronous=%d", e->synchronous);
        if (sqlite3_exec(db, pragma, NULL, NULL, NULL) != SQLITE_OK) {
            snprintf(err, errlen, "cannot set %s on %s: %s", pragma, name, sqlite3_errmsg(db));
            return false;
        }
    }
    for (int i = 0; i < e->n_fns; i++) {
        if (fs_create_function(db, e->fns[i]) != SQLITE_OK) {
            snprintf(err, errlen, "cannot add function %s: %s", e->fns[i]->name, sqlite3_errmsg(db));
            return false;
        }
    }
    return true;
}

static int fs_ctx_open(const ferry_context_info *info, void **ctx_data, void *data, char *err, size_t errlen)
{
    fs_engine *e = data;
    const fs_ctx *parent = info->parent_data;
    char name[200];
    if (info->open_flags & FERRY_SQLITE_PRIVATE)
        snprintf(name, sizeof name, "file:/ferry-%p-private-%llu?vfs=memdb", (void *)e,
                 (unsigned long long)++e->privates);
    else
        snprintf(name, sizeof name, "%s", parent ? parent->db_name : e->main_name);
    bool read_only = (info->flags & FERRY_CTX_READ_ONLY) != 0;
    int flags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_URI |
                (read_only ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    fs_ctx *x = calloc(1, sizeof(*x));
    fs_stmt *cache = calloc((size_t)e->cache_cap, sizeof(fs_stmt));
    char *db_name = strdup(name);
    sqlite3 *db = NULL;
    int rc = (x && cache && db_name) ? sqlite3_open_v2(name, &db, flags, NULL) : SQLITE_NOMEM;
    if (rc != SQLITE_OK) {
        snprintf(err, errlen, "cannot open %s for context '%s': %s", name, info->name,
                 db ? sqlite3_errmsg(db) : sqlite3_errstr(rc));
        sqlite3_close(db);
        free(x);
        free(cache);
        free(db_name);
        return rc;
    }
    atomic_fetch_add(&fs_open_connections, 1);
    *x = (fs_ctx){ .engine = e, .db = db, .db_name = db_name, .cache = cache,
                   .memory = strstr(db_name, "vfs=memdb") != NULL };
    sqlite3_extended_result_codes(db, 1);
    sqlite3_busy_handler(db, fs_busy, x);
    sqlite3_progress_handler(db, FS_PROGRESS_STEPS, fs_progress, x);
    if (!fs_configure(e, db, name, !parent && !read_only, err, errlen))
        goto fail;
    x->next = e->contexts;
    if (e->contexts)
        e->contexts->prev = x;
    e->contexts = x;
    *ctx_data = x;
    return 0;
fail:
    sqlite3_close(db);
    atomic_fetch_sub(&fs_open_connections, 1);
    free(cache);
    free(db_name);
    free(x);
    return SQLITE_ERROR;
}

static void fs_ctx_close(uint64_t id, void *ctx_data, void *data)
{
    (void)id;
    fs_engine *e = data;
    fs_ctx *x = ctx_data;
    if (!x)
        return;
    for (int i = 0; i < x->cached; i++)
        fs_finalize(&x->cache[i]);
    fs_forget_read(x); /* sqlite3_close rolls it back */
    sqlite3_finalize(x->begin);
    sqlite3_finalize(x->commit);
    /* sqlite3_close (not _v2): every statement is finalized above, so this closes for real. */
    if (sqlite3_close(x->db) == SQLITE_OK)
        atomic_fetch_sub(&fs_open_connections, 1);
    if (x->prev)
        x->prev->next = x->next;
    else
        e->contexts = x->next;
    if (x->next)
        x->next->prev = x->prev;
    free(x->cache);
    free(x->db_name);
    free(x);
}

/* ---- the engine --------------------------------------------------------------------------------- */

static void fs_engine_free(void *data)
{
    fs_engine *e = data;
    fs_anchor_free(e->anchor);
    /* The channels' memory is the host's to free (it may still read it); what the engine made of its
     * own, it frees. */
    for (uint32_t i = 0; i < e->n_chans; i++)
        free(e->chans[i].spill);
    free(e->chans);
    for (int i = 0; i < e->n_fns; i++) {
        free(e->fns[i]->name);
        free(e->fns[i]);
    }
    free(e->fns);
    free(e->path);
    free(e);
}

static bool fs_config(fs_engine *e, const char *arg, char *bad, size_t badlen)
{
    const char *p = arg;
    while (*p) {
        const char *end = strchr(p, '\n');
        size_t n = end ? (size_t)(end - p) : strlen(p);
        const char *eq = memchr(p, '=', n);
        if (n > 0) {
            if (!eq) {
                snprintf(bad, badlen, "'%.*s' is not key=value", (int)n, p);
                return false;
            }
            size_t k = (size_t)(eq - p);
            const char *v = eq + 1;
            size_t vn = n - k - 1;
            if (k == 4 && memcmp(p, "path", 4) == 0) {
                free(e->path);
                e->path = (vn == 8 && memcmp(v, ":memory:", 8) == 0) ? NULL : strndup(v, vn);
            } else if (k == 3 && memcmp(p, "wal", 3) == 0) {
                e->wal = vn == 1 && *v == '1';
            } else if (k == 11 && memcmp(p, "synchronous", 11) == 0) {
                static const char *const modes[] = { "off", "normal", "full", "extra" };
                e->synchronous = -2;
                for (int m = 0; m < 4; m++)
                    if ((vn == 1 && *v == '0' + m) || (vn == strlen(modes[m]) && strncasecmp(v, modes[m], vn) == 0))
                        e->synchronous = m;
                if (e->synchronous == -2) {
                    snprintf(bad, badlen, "synchronous=%.*s must be off, normal, full, extra or 0..3", (int)vn, v);
                    return false;
                }
            } else if (k == 9 && memcmp(p, "memstatus", 9) == 0) {
                e->memstatus = vn == 1 && *v == '1';
            } else if (k == 12 && memcmp(p, "busy_timeout", 12) == 0) {
                e->busy_ms = atoi(v);
            } else if (k == 5 && memcmp(p, "cache", 5) == 0) {
                e->cache_cap = atoi(v);
                if (e->cache_cap < 1 || e->cache_cap > 100000) {
                    snprintf(bad, badlen, "cache=%.*s must be 1..100000", (int)vn, v);
                    return false;
                }
            } else {
                snprintf(bad, badlen, "unknown key '%.*s'", (int)k, p);
                return false;
            }
        }
        p += n + (end ? 1 : 0);
    }
    return true;
}

__attribute__((visibility("default"))) int ferry_sqlite_init(ferry_registry *reg)
{
    fs_engine *e = calloc(1, sizeof(*e));
    if (!e)
        return ferry_registry_fail(reg, SQLITE_NOMEM, "sqlite engine: out of memory");
    e->free_chan = FS_NO_CHANNEL;
    e->busy_ms = 5000;
    e->cache_cap = FS_DEFAULT_CACHE;
    e->synchronous = -1;
    char bad[256];
    if (!fs_config(e, ferry_registry_arg(reg), bad, sizeof bad)) {
        fs_engine_free(e);
        return ferry_registry_fail(reg, SQLITE_MISUSE, "sqlite engine configuration: %s", bad);
    }
    /* SQLite's allocation statistics take a process-wide mutex around every malloc and free (and
     * Debian's build has no lookaside, so a point select makes several): off, as sqlite-jdbc's build
     * has them, unless asked for. Only possible before SQLite initialises; later it stays as it is. */
    if (!e->memstatus)
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    sqlite3_initialize();
    if (e->path)
        snprintf(e->main_name, sizeof e->main_name, "%s", e->path);
    else
        snprintf(e->main_name, sizeof e->main_name, "file:/ferry-%p-main?vfs=memdb", (void *)e);
    if (e->path && strlen(e->path) >= sizeof e->main_name) {
        fs_engine_free(e);
        return ferry_registry_fail(reg, SQLITE_MISUSE, "sqlite engine: database path is too long");
    }
    if (e->path && e->wal)
        e->anchor = fs_anchor_new(); /* without one (out of memory), queries only cost more */
    /* The idle and cancel hooks first: if they are registered and on_close fails, the engine never runs,
     * so never idles or cancels. */
    int rc = e->anchor ? ferry_registry_on_idle(reg, fs_anchor_on_idle, e->anchor) : 0;
    if (rc == 0)
        rc = ferry_registry_on_cancel(reg, fs_cancel, e);
    if (rc == 0)
        rc = ferry_registry_on_close(reg, fs_engine_free, e);
    if (rc != 0) {
        fs_engine_free(e);
        return ferry_registry_fail(reg, rc, "sqlite engine: out of memory");
    }
    if (ferry_registry_on_context(reg, fs_ctx_open, fs_ctx_close, e) != 0 ||
        ferry_register_op(reg, "sqlite.exec", op_exec, e, FERRY_OP_IN_BYTES | FERRY_OP_OUT_BYTES) < 0 ||
        ferry_register_op(reg, "sqlite.batch", op_batch, e, FERRY_OP_IN_BYTES | FERRY_OP_OUT_BYTES) < 0 ||
        ferry_register_op(reg, "sqlite.channel", op_channel, e, FERRY_OP_INTERNAL) < 0 ||
        ferry_register_op(reg, "sqlite.run", op_run, e, FERRY_OP_INTERNAL) < 0 ||
        ferry_register_op(reg, "sqlite.spill", op_spill, e, FERRY_OP_IN_BYTES | FERRY_OP_OUT_BYTES | FERRY_OP_INTERNAL) < 0 ||
        ferry_register_op(reg, "sqlite.channel_close", op_channel_close, e, FERRY_OP_INTERNAL) < 0 ||
        ferry_register_op(reg, "sqlite.function", op_function, e,
                          FERRY_OP_IN_BYTES | FERRY_OP_MUTATES | FERRY_OP_INTERNAL) < 0)
        return ferry_registry_fail(reg, -1, "sqlite engine: cannot register its ops");
    return 0;
}
