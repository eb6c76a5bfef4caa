/*
 * ferry_context.c: execution contexts, their scopes of variables and their permissions.
 *
 * Everything here runs on the engine thread (system ops, the per-call resolve and authorize, start and
 * stop), so nothing is locked. See "Execution contexts" in ferry.h.
 */
#include "ferry_internal.h"
#include "ferry_ffi.h" /* issue 12: ferry__ffi_register */
#include "ferry_task.h" /* issue 12: Java tasks hear of contexts */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FERRY__TOMBSTONE ((char *)(uintptr_t)1)
#define FERRY__NAME_MAX 4096u

/* ---- scopes: a small open-addressing hash map of variables ------------------------------------- */

static uint64_t ferry__hash(const char *s, size_t len)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < len; i++) {
        h ^= (unsigned char)s[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static bool ferry__live(const ferry__var *v)
{
    return v->name != NULL && v->name != FERRY__TOMBSTONE;
}

static void ferry__var_free(ferry__var *v)
{
    if (ferry__live(v)) {
        free(v->name);
        free(v->bytes);
    }
    memset(v, 0, sizeof(*v));
}

static ferry__var *ferry__scope_find(const ferry__scope *sc, const char *name)
{
    if (sc->cap == 0)
        return NULL;
    uint32_t mask = sc->cap - 1;
    for (uint32_t i = (uint32_t)ferry__hash(name, strlen(name)) & mask, n = 0; n < sc->cap; i = (i + 1) & mask, n++) {
        ferry__var *v = &sc->buckets[i];
        if (v->name == NULL)
            return NULL;
        if (v->name != FERRY__TOMBSTONE && strcmp(v->name, name) == 0)
            return v;
    }
    return NULL;
}

/* A bucket for a new name (the name must not be present). */
static ferry__var *ferry__scope_slot(ferry__scope *sc, const char *name)
{
    uint32_t mask = sc->cap - 1;
    for (uint32_t i = (uint32_t)ferry__hash(name, strlen(name)) & mask;; i = (i + 1) & mask)
        if (!ferry__live(&sc->buckets[i]))
            return &sc->buckets[i];
}

static int ferry__scope_reserve(ferry__scope *sc)
{
    if (sc->cap != 0 && (sc->used + 1) * 4 <= sc->cap * 3)
        return 0;
    uint32_t cap = sc->cap == 0 ? 8 : (sc->live + 1) * 2 > sc->cap ? sc->cap * 2 : sc->cap;
    while ((sc->live + 1) * 4 > cap * 3)
        cap *= 2;
    ferry__var *buckets = calloc(cap, sizeof(*buckets));
    if (!buckets)
        return FERRY_E_NOMEM;
    ferry__scope grown = { buckets, cap, 0, 0 };
    for (uint32_t i = 0; i < sc->cap; i++) {
        if (ferry__live(&sc->buckets[i])) {
            *ferry__scope_slot(&grown, sc->buckets[i].name) = sc->buckets[i];
            grown.used++;
            grown.live++;
        }
    }
    free(sc->buckets);
    *sc = grown;
    return 0;
}

/* Sets name to a copy of the value; replaces an existing variable. */
static int ferry__scope_put(ferry__scope *sc, const char *name, uint32_t type, int64_t i64, double f64,
                            const void *bytes, size_t len, uint32_t frozen)
{
    void *copy = NULL;
    if (type == FERRY_VAR_STRING || type == FERRY_VAR_BYTES) {
        copy = malloc(len + 1);
        if (!copy)
            return FERRY_E_NOMEM;
        if (len)
            memcpy(copy, bytes, len);
        ((char *)copy)[len] = '\0';
    }
    ferry__var *v = ferry__scope_find(sc, name);
    if (v) {
        free(v->bytes);
    } else {
        int rc = ferry__scope_reserve(sc);
        char *n = rc == 0 ? strdup(name) : NULL;
        if (!n) {
            free(copy);
            return FERRY_E_NOMEM;
        }
        v = ferry__scope_slot(sc, name);
        if (v->name == NULL)
            sc->used++;
        sc->live++;
        v->name = n;
    }
    v->type = type;
    v->frozen = frozen;
    v->i64 = i64;
    v->f64 = f64;
    v->bytes = copy;
    v->len = copy ? len : 0;
    return 0;
}

static void ferry__scope_remove(ferry__scope *sc, ferry__var *v)
{
    free(v->name);
    free(v->bytes);
    memset(v, 0, sizeof(*v));
    v->name = FERRY__TOMBSTONE;
    sc->live--;
}

static void ferry__scope_free(ferry__scope *sc)
{
    for (uint32_t i = 0; i < sc->cap; i++)
        ferry__var_free(&sc->buckets[i]);
    free(sc->buckets);
    memset(sc, 0, sizeof(*sc));
}

/* ---- the context table ------------------------------------------------------------------------- */

static uint64_t ferry__ctx_id(uint32_t index, uint32_t generation)
{
    return ((uint64_t)generation << 32) | index;
}

ferry__ctx *ferry__context_resolve(ferry_engine *e, uint64_t id)
{
    uint32_t index = (uint32_t)id, generation = (uint32_t)(id >> 32);
    ferry__contexts *cs = &e->contexts;
    if (index >= cs->count)
        return NULL;
    ferry__ctx *x = cs->items[index];
    return x->open && x->generation == generation && generation != 0 ? x : NULL;
}

/* A free index with its (closed) context struct, reused or newly made. */
static int ferry__ctx_take(ferry__contexts *cs, uint32_t *index)
{
    if (cs->free_count > 0) {
        *index = cs->free[--cs->free_count];
        return 0;
    }
    if (cs->count == UINT32_MAX - 1)
        return FERRY_E_NOMEM;
    if (cs->count == cs->cap) {
        uint32_t cap = cs->cap ? cs->cap * 2 : 16;
        ferry__ctx **items = realloc(cs->items, (size_t)cap * sizeof(*items));
        if (!items)
            return FERRY_E_NOMEM;
        cs->items = items;
        cs->cap = cap;
    }
    ferry__ctx *x = calloc(1, sizeof(*x));
    if (!x)
        return FERRY_E_NOMEM;
    cs->items[cs->count] = x;
    *index = cs->count++;
    return 0;
}

static void ferry__ctx_give_back(ferry__contexts *cs, uint32_t index)
{
    if (cs->free_count == cs->free_cap) {
        uint32_t cap = cs->free_cap ? cs->free_cap * 2 : 16;
        uint32_t *free_list = realloc(cs->free, (size_t)cap * sizeof(*free_list));
        if (!free_list)
            return; /* the index is not reused: a small leak of table space, never a wrong context */
        cs->free = free_list;
        cs->free_cap = cap;
    }
    cs->free[cs->free_count++] = index;
}

/* Closes an open context: the engine's hook, then its scope and permissions; its id goes stale. */
static void ferry__ctx_close(ferry_engine *e, uint32_t index)
{
    ferry__contexts *cs = &e->contexts;
    ferry__ctx *x = cs->items[index];
    if (!x->open)
        return;
    ferry__task_context_closing(ferry__ctx_id(index, x->generation)); /* issue 12: Java's context state */
    if (e->reg.ctx_close)
        e->reg.ctx_close(ferry__ctx_id(index, x->generation), x->engine_data, e->reg.ctx_hook_data);
    ferry__scope_free(&x->scope);
    free(x->name);
    free(x->ops);
    uint32_t generation = x->generation + 1;
    memset(x, 0, sizeof(*x));
    x->generation = generation;
    /* An index whose generations are used up retires instead of wrapping: a wrapped generation would
     * bring a long-closed id back to life. */
    if (index != 0 && generation != 0)
        ferry__ctx_give_back(cs, index);
}

/* Opens the context at index (taken with ferry__ctx_take) from a fully built description. On failure
 * frees what it was given, gives the index back and returns a code with the reason in err. */
static int ferry__ctx_open(ferry_engine *e, uint32_t index, char *name, uint32_t flags, uint32_t open_flags,
                           const ferry__ctx *parent, uint64_t parent_id, int32_t *ops, uint32_t op_count,
                           ferry__scope *scope, char *err, size_t errlen)
{
    ferry__contexts *cs = &e->contexts;
    ferry__ctx *x = cs->items[index];
    uint32_t generation = x->generation == 0 ? 1 : x->generation;
    void *data = NULL;
    if (e->reg.ctx_open) {
        ferry_context_info info = {
            .id = ferry__ctx_id(index, generation),
            .parent = parent_id,
            .name = name,
            .flags = flags,
            .parent_data = parent ? parent->engine_data : NULL,
            .open_flags = open_flags,
        };
        err[0] = '\0';
        int rc = e->reg.ctx_open(&info, &data, e->reg.ctx_hook_data, err, errlen);
        if (rc != 0) {
            if (!err[0])
                snprintf(err, errlen, "the engine refused to open context '%s' (code %d)", name, rc);
            free(name);
            free(ops);
            ferry__scope_free(scope);
            x->generation = generation;
            if (index != 0)
                ferry__ctx_give_back(cs, index);
            return rc;
        }
    }
    *x = (ferry__ctx){
        .index = index,
        .generation = generation,
        .open = true,
        .flags = flags,
        .parent = parent_id,
        .name = name,
        .ops = ops,
        .op_count = op_count,
        .scope = *scope,
        .engine_data = data,
        .created = ++cs->created,
    };
    ferry__task_context_opened(ferry__ctx_id(index, generation), parent_id, flags, name); /* issue 12 */
    return 0;
}

int ferry__contexts_init(ferry_engine *e, char *err, size_t errlen)
{
    uint32_t index;
    int rc = ferry__ctx_take(&e->contexts, &index);
    char *name = rc == 0 ? strdup("systemic") : NULL;
    if (!name) {
        snprintf(err, errlen, "out of memory for the systemic context");
        return FERRY_E_NOMEM;
    }
    ferry__scope scope = { 0 };
    return ferry__ctx_open(e, index, name, 0, 0, NULL, 0, NULL, 0, &scope, err, errlen);
}

static int ferry__cmp_newest_first(const void *a, const void *b, void *arg)
{
    ferry__ctx *const *items = arg;
    uint64_t x = items[*(const uint32_t *)a]->created, y = items[*(const uint32_t *)b]->created;
    return (x < y) - (x > y);
}

void ferry__contexts_close_all(ferry_engine *e)
{
    ferry__contexts *cs = &e->contexts;
    /* Newest first, so a child closes before the parent it was made from; the systemic one last. */
    uint32_t *open = malloc(((size_t)cs->count + 1) * sizeof(uint32_t));
    uint32_t n = 0;
    for (uint32_t i = 1; open && i < cs->count; i++)
        if (cs->items[i]->open)
            open[n++] = i;
    if (open)
        qsort_r(open, n, sizeof(uint32_t), ferry__cmp_newest_first, cs->items);
    for (uint32_t i = 0; i < n; i++)
        ferry__ctx_close(e, open[i]);
    free(open);
    for (uint32_t i = 1; i < cs->count; i++) /* without memory for the order: any order, all closed */
        ferry__ctx_close(e, i);
    if (cs->count > 0)
        ferry__ctx_close(e, 0);
    for (uint32_t i = 0; i < cs->count; i++)
        free(cs->items[i]);
    free(cs->items);
    free(cs->free);
    memset(cs, 0, sizeof(*cs));
}

/* ---- permissions ------------------------------------------------------------------------------- */

static int ferry__cmp_i32(const void *a, const void *b)
{
    int32_t x = *(const int32_t *)a, y = *(const int32_t *)b;
    return (x > y) - (x < y);
}

static bool ferry__has_op(const ferry__ctx *x, int32_t op)
{
    return bsearch(&op, x->ops, x->op_count, sizeof(int32_t), ferry__cmp_i32) != NULL;
}

int ferry__context_authorize(ferry_call *c, const ferry__op *op, int32_t op_id)
{
    const ferry__ctx *x = c->ctx;
    if (op->flags & FERRY_OP_SYSTEM)
        return 0;
    if ((x->flags & FERRY_CTX_READ_ONLY) && (op->flags & FERRY_OP_MUTATES))
        return ferry_call_fail(c, FERRY_E_DENIED, "op '%s' changes engine state and context '%s' is read-only",
                               op->name, x->name);
    if (x->ops && !ferry__has_op(x, op_id))
        return ferry_call_fail(c, FERRY_E_DENIED, "op '%s' is not among the ops context '%s' may run", op->name,
                               x->name);
    return 0;
}

/* ---- what ops see ------------------------------------------------------------------------------ */

int ferry_call_var(const ferry_call *call, const char *name, ferry_value *out)
{
    if (!call || !call->ctx || !name)
        return FERRY_E_INVALID;
    const ferry__var *v = ferry__scope_find(&call->ctx->scope, name);
    if (!v)
        return FERRY_E_NOT_FOUND;
    if (out)
        *out = (ferry_value){ v->type, v->frozen, v->i64, v->f64, v->bytes, v->len };
    return 0;
}

const char *ferry_call_context_name(const ferry_call *call)
{
    return call && call->ctx ? call->ctx->name : "";
}

uint32_t ferry_call_context_flags(const ferry_call *call)
{
    return call && call->ctx ? call->ctx->flags : 0;
}

void *ferry_call_context_data(const ferry_call *call)
{
    return call && call->ctx ? call->ctx->engine_data : NULL;
}

int ferry_registry_on_context(ferry_registry *reg, ferry_context_open_fn open, ferry_context_close_fn close,
                              void *data)
{
    if (!reg || reg->sealed || (!open && !close))
        return FERRY_E_INVALID;
    if (reg->ctx_open || reg->ctx_close)
        return FERRY_E_EXISTS;
    reg->ctx_open = open;
    reg->ctx_close = close;
    reg->ctx_hook_data = data;
    return 0;
}

/* ---- the system ops ---------------------------------------------------------------------------- */

/* A cursor over a system op's input. */
typedef struct ferry__reader {
    const unsigned char *p;
    size_t left;
    bool bad;
} ferry__reader;

static uint32_t ferry__read_u32(ferry__reader *r)
{
    uint32_t v = 0;
    if (r->left < 4) {
        r->bad = true;
        return 0;
    }
    memcpy(&v, r->p, 4);
    r->p += 4;
    r->left -= 4;
    return v;
}

/* A NUL-terminated copy of the next length-prefixed name, or NULL (bad input or no memory). */
static char *ferry__read_name(ferry__reader *r)
{
    uint32_t len = ferry__read_u32(r);
    if (r->bad || len == 0 || len > FERRY__NAME_MAX || len > r->left || memchr(r->p, 0, len)) {
        r->bad = true;
        return NULL;
    }
    char *s = malloc((size_t)len + 1);
    if (!s)
        return NULL;
    memcpy(s, r->p, len);
    s[len] = '\0';
    r->p += len;
    r->left -= len;
    return s;
}

/* The input as a NUL-terminated name (var_get, var_unset). */
static char *ferry__input_name(ferry_call *c)
{
    size_t len;
    const char *in = ferry_call_input(c, &len);
    if (len == 0 || len > FERRY__NAME_MAX || memchr(in, 0, len)) {
        ferry_call_fail(c, FERRY_E_INVALID, "a variable name must be 1..%u bytes without NUL", FERRY__NAME_MAX);
        return NULL;
    }
    char *s = strndup(in, len);
    if (!s)
        ferry_call_fail(c, FERRY_E_NOMEM, "out of memory");
    return s;
}

/* ferry.ctx_create's frozen variables: u32 n, n x (u32 len, name), each copied from the parent's scope
 * into scope, frozen. Returns 0 or fails the call. */
static int ferry__read_frozen(ferry_call *c, ferry__reader *r, const ferry__ctx *parent, const char *name,
                              ferry__scope *scope)
{
    uint32_t n_freeze = ferry__read_u32(r);
    for (uint32_t i = 0; i < n_freeze && !r->bad; i++) {
        char *var = ferry__read_name(r);
        if (!var)
            return ferry_call_fail(c, FERRY_E_INVALID, "ferry.ctx_create: malformed input (frozen name %u)", i);
        const ferry__var *v = ferry__scope_find(&parent->scope, var);
        if (!v) {
            int rc = ferry_call_fail(c, FERRY_E_NOT_FOUND,
                                     "cannot freeze variable '%s' into context '%s': context '%s' has no variable "
                                     "of that name",
                                     var, name, parent->name);
            free(var);
            return rc;
        }
        int rc = ferry__scope_put(scope, var, v->type, v->i64, v->f64, v->bytes, v->len, 1);
        free(var);
        if (rc != 0)
            return ferry_call_fail(c, FERRY_E_NOMEM, "out of memory");
    }
    return 0;
}

/* Sorts op ids and drops duplicates; returns how many remain. */
static uint32_t ferry__sort_unique(int32_t *ops, uint32_t n)
{
    qsort(ops, n, sizeof(int32_t), ferry__cmp_i32);
    uint32_t unique = 0;
    for (uint32_t i = 0; i < n; i++)
        if (unique == 0 || ops[unique - 1] != ops[i])
            ops[unique++] = ops[i];
    return unique;
}

/* ferry.ctx_create's op set (u32 n_ops or FERRY_NO_OP_SET, then n_ops x i32), the rest of the input. A
 * child never runs more than its parent: its op set is the parent's, narrowed by the one asked. Sets
 * *ops (NULL: every op) and *op_count; returns 0 or fails the call. */
static int ferry__read_op_set(ferry_call *c, const ferry_engine *e, ferry__reader *r, const ferry__ctx *parent,
                              int32_t **ops, uint32_t *op_count)
{
    uint32_t n_ops = ferry__read_u32(r);
    if (r->bad || (n_ops == FERRY_NO_OP_SET ? r->left != 0 : (size_t)n_ops * 4 != r->left))
        return ferry_call_fail(c, FERRY_E_INVALID, "ferry.ctx_create: malformed input (op set)");
    if (n_ops == FERRY_NO_OP_SET && !parent->ops)
        return 0;
    uint32_t cap = n_ops != FERRY_NO_OP_SET ? n_ops : parent->op_count;
    *ops = malloc(((size_t)cap + 1) * sizeof(int32_t));
    if (!*ops)
        return ferry_call_fail(c, FERRY_E_NOMEM, "out of memory");
    uint32_t n = 0;
    for (uint32_t i = 0; i < cap; i++) {
        int32_t op;
        if (n_ops == FERRY_NO_OP_SET) {
            op = parent->ops[i];
        } else {
            memcpy(&op, r->p + 4 * (size_t)i, 4);
            if (op < 0 || op >= e->reg.count)
                return ferry_call_fail(c, FERRY_E_INVALID, "ferry.ctx_create: unknown op id %d in the op set", op);
            if (parent->ops && !ferry__has_op(parent, op))
                continue;
        }
        (*ops)[n++] = op;
    }
    *op_count = ferry__sort_unique(*ops, n);
    return 0;
}

static int op_ctx_create(ferry_call *c, void *data)
{
    ferry_engine *e = data;
    const ferry__ctx *parent = c->ctx;
    uint64_t parent_id = c->ctx_id;
    uint64_t arg = (uint64_t)ferry_call_arg(c, 0);
    if ((arg >> 32) != 0 || (arg & 0xff & ~(uint64_t)FERRY_CTX_READ_ONLY) != 0)
        return ferry_call_fail(c, FERRY_E_INVALID, "ferry.ctx_create: unknown flags %#llx", (unsigned long long)arg);
    uint32_t flags = ((uint32_t)arg & FERRY_CTX_READ_ONLY) | (parent->flags & FERRY_CTX_READ_ONLY);
    uint32_t open_flags = (uint32_t)arg & ~UINT32_C(0xff);
    size_t len;
    const void *in = ferry_call_input(c, &len);
    ferry__reader r = { in, len, false };
    int32_t *ops = NULL;
    uint32_t op_count = 0;
    ferry__scope scope = { 0 };
    char err[FERRY__MSG_MAX];
    int rc = 0;
    uint32_t index;

    char *name = ferry__read_name(&r);
    if (!name)
        rc = ferry_call_fail(c, FERRY_E_INVALID, "ferry.ctx_create: malformed input (name)");
    if (rc == 0)
        rc = ferry__read_frozen(c, &r, parent, name, &scope);
    if (rc == 0)
        rc = ferry__read_op_set(c, e, &r, parent, &ops, &op_count);
    if (rc == 0 && ferry__ctx_take(&e->contexts, &index) != 0)
        rc = ferry_call_fail(c, FERRY_E_NOMEM, "out of memory for a new context");
    if (rc != 0) {
        free(name);
        free(ops);
        ferry__scope_free(&scope);
        return rc;
    }
    rc = ferry__ctx_open(e, index, name, flags, open_flags, parent, parent_id, ops, op_count, &scope, err,
                         sizeof(err));
    if (rc != 0)
        return ferry_call_fail(c, rc, "%s", err); /* ctx_open freed name, ops and scope */
    ferry_call_set_i64(c, (int64_t)ferry__ctx_id(index, e->contexts.items[index]->generation));
    return 0;
}

static int op_ctx_close(ferry_call *c, void *data)
{
    ferry_engine *e = data;
    uint32_t index = c->ctx->index;
    if (index == 0)
        return ferry_call_fail(c, FERRY_E_INVALID, "the systemic context cannot be closed; it closes with its engine");
    ferry__ctx_close(e, index);
    ferry_call_set_i64(c, 0);
    return 0;
}

static int op_var_set(ferry_call *c, void *data)
{
    (void)data;
    int64_t type_arg = ferry_call_arg(c, 0);
    if (type_arg < FERRY_VAR_I64 || type_arg > FERRY_VAR_BYTES)
        return ferry_call_fail(c, FERRY_E_INVALID, "ferry.var_set: unknown variable type %lld", (long long)type_arg);
    uint32_t type = (uint32_t)type_arg;
    size_t len;
    const void *in = ferry_call_input(c, &len);
    ferry__reader r = { in, len, false };
    char *name = ferry__read_name(&r);
    if (!name)
        return ferry_call_fail(c, FERRY_E_INVALID, "ferry.var_set: malformed input (name)");
    ferry__var *v = ferry__scope_find(&c->ctx->scope, name);
    if (v && v->frozen) {
        int rc = ferry_call_fail(c, FERRY_E_FROZEN,
                                 "variable '%s' is frozen in context '%s': it is a snapshot taken from the parent "
                                 "when the context was made",
                                 name, c->ctx->name);
        free(name);
        return rc;
    }
    int64_t bits = ferry_call_arg(c, 1);
    double f64;
    memcpy(&f64, &bits, sizeof(f64));
    bool scalar = type == FERRY_VAR_I64 || type == FERRY_VAR_F64;
    int rc = ferry__scope_put(&c->ctx->scope, name, type, type == FERRY_VAR_I64 ? bits : 0,
                              type == FERRY_VAR_F64 ? f64 : 0, scalar ? NULL : r.p, scalar ? 0 : r.left, 0);
    free(name);
    if (rc != 0)
        return ferry_call_fail(c, FERRY_E_NOMEM, "out of memory for a variable");
    ferry_call_set_i64(c, 0);
    return 0;
}

static int op_var_get(ferry_call *c, void *data)
{
    (void)data;
    char *name = ferry__input_name(c);
    if (!name)
        return c->err;
    const ferry__var *v = ferry__scope_find(&c->ctx->scope, name);
    if (!v) {
        int rc = ferry_call_fail(c, FERRY_E_NOT_FOUND, "context '%s' has no variable '%s'", c->ctx->name, name);
        free(name);
        return rc;
    }
    free(name);
    bool scalar = v->type == FERRY_VAR_I64 || v->type == FERRY_VAR_F64;
    size_t len = 8 + (scalar ? 8 : v->len);
    unsigned char *out = ferry_call_output_buffer(c, len);
    if (!out)
        return ferry_call_fail(c, FERRY_E_NOMEM, "out of memory");
    memcpy(out, &v->type, 4);
    memcpy(out + 4, &v->frozen, 4);
    if (v->type == FERRY_VAR_I64)
        memcpy(out + 8, &v->i64, 8);
    else if (v->type == FERRY_VAR_F64)
        memcpy(out + 8, &v->f64, 8);
    else if (v->len)
        memcpy(out + 8, v->bytes, v->len);
    return 0;
}

static int op_var_unset(ferry_call *c, void *data)
{
    (void)data;
    char *name = ferry__input_name(c);
    if (!name)
        return c->err;
    ferry__var *v = ferry__scope_find(&c->ctx->scope, name);
    int rc = 0;
    if (v && v->frozen)
        rc = ferry_call_fail(c, FERRY_E_FROZEN, "variable '%s' is frozen in context '%s' and cannot be removed", name,
                             c->ctx->name);
    else if (v)
        ferry__scope_remove(&c->ctx->scope, v);
    ferry_call_set_i64(c, v != NULL);
    free(name);
    return rc;
}

int ferry__register_system_ops(ferry_registry *reg, ferry_engine *e)
{
    struct {
        const char *name;
        ferry_op_fn fn;
        uint32_t flags;
    } ops[] = {
        { "ferry.ctx_create", op_ctx_create, FERRY_OP_IN_BYTES },
        { "ferry.ctx_close", op_ctx_close, 0 },
        { "ferry.var_set", op_var_set, FERRY_OP_IN_BYTES },
        { "ferry.var_get", op_var_get, FERRY_OP_IN_BYTES | FERRY_OP_OUT_BYTES },
        { "ferry.var_unset", op_var_unset, FERRY_OP_IN_BYTES },
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        int32_t rc = ferry__register_op(reg, ops[i].name, ops[i].fn, e, ops[i].flags | FERRY_OP_SYSTEM | FERRY_OP_INTERNAL);
        if (rc < 0)
            return ferry_registry_fail(reg, rc, "cannot register system op %s", ops[i].name);
    }
    int rc = ferry__ffi_register(reg, e); /* issue 12: the downcall ops (ferry_ffi.c) */
    if (rc != 0)
        return rc;
    return ferry__register_task_ops(reg, e); /* issue 12: "ferry.task" (ferry_task.c) */
}
