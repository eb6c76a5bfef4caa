/*
 * ferry_call.c: the accessors an op uses on its call (engine thread only), and the allocator for the
 * memory whose ownership passes through the ring.
 */
#include "ferry_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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
    return call->ctx_id;
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
    /* Relaxed is enough: the flag only asks the op to stop early; nothing is read on its strength. The
     * caller sets GONE on its cell whenever it gives a running call up (ferry.h, "Completion cell"). */
    uint64_t st = ferry__load_relaxed(&call->cell->state);
    return (st >> FERRY_SEQ_SHIFT) == call->seq && (st & FERRY_FLAG_GONE) != 0;
}

void *ferry_alloc(uint64_t size)
{
    return malloc(size ? (size_t)size : 1);
}

void ferry_free(void *ptr)
{
    free(ptr);
}
