/*
 * ferry_registry.c: the op registry and the engine's hooks, filled by init on the engine thread and
 * sealed before the start handshake releases the starter (read from any thread after that).
 */
#include "ferry_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
static int ferry__hook_add(ferry__hook **hooks, int32_t *count, int32_t *cap, void (*fn)(void *data), void *data)
{
    if (*count == *cap) {
        int32_t n = *cap ? *cap * 2 : 4;
        ferry__hook *grown = realloc(*hooks, (size_t)n * sizeof(*grown));
        if (!grown)
            return FERRY_E_NOMEM;
        *hooks = grown;
        *cap = n;
    }
    (*hooks)[(*count)++] = (ferry__hook){ fn, data };
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

int ferry_registry_on_cancel(ferry_registry *reg, ferry_cancel_fn fn, void *data)
{
    if (!reg || !fn || reg->sealed)
        return FERRY_E_INVALID;
    return ferry__hook_add(&reg->on_cancel, &reg->on_cancel_count, &reg->on_cancel_cap, fn, data);
}

void ferry__registry_run_on_idle(ferry_registry *reg)
{
    for (int32_t i = 0; i < reg->on_idle_count; i++)
        reg->on_idle[i].fn(reg->on_idle[i].data);
}

void ferry__registry_run_on_close(ferry_registry *reg)
{
    /* Last registered, first run: later registrations may depend on earlier ones. */
    for (int32_t i = reg->on_close_count - 1; i >= 0; i--)
        reg->on_close[i].fn(reg->on_close[i].data);
    reg->on_close_count = 0;
}

void ferry__registry_free(ferry_registry *reg)
{
    for (int32_t i = 0; i < reg->count; i++)
        free(reg->ops[i].name);
    free(reg->ops);
    free(reg->on_close);
    free(reg->on_idle);
    free(reg->on_cancel);
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
