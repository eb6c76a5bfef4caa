/*
 * ferry_testops.c: the test and benchmark ops, a plug-in of its own (libferry_testops.so, init symbol
 * ferry_testops_init) that the tests, the demo and the benchmarks load. Not part of libferry.so: no
 * product engine has these ops. It uses only ferry.h, as any plug-in does.
 *
 *   noop         ()                  -> 0
 *   add          (a, b)              -> a + b
 *   echo         (a)                 -> a
 *   add_f64      (x, y)              -> x + y                 (doubles)
 *   echo_bytes   (bytes)             -> the same bytes
 *   echo_string  (text)              -> the same text
 *   checksum     (bytes)             -> FNV-1a 64 of the bytes
 *   spin         (ns)                -> busy-waits ns nanoseconds (stops early if the caller left);
 *                                       returns the ns spent
 *   fail         (code, message)     -> fails with that code and message; input after a NUL byte is
 *                                       written as output first (message "m\0out": fails with "m" and
 *                                       the output bytes "out")
 *   order        (producer, n)       -> n; fails unless n is producer's previous n + 1 (n starts at 1):
 *                                       checks per-producer FIFO on the engine thread itself
 *   var_add      (x, name)           -> x + the 64-bit variable `name` of the call's context scope
 *   counter      (x)                 -> adds x to an engine-wide counter and returns it (mutates); fails
 *                                       with EOVERFLOW, the counter unchanged, if the sum overflows
 *   (var_add refuses a name with a NUL byte: C strings cannot hold it)
 *
 * Plain C functions for the engine-thread downcall tests and benchmarks (Engine.downcallHandle), exported
 * as ferry_testops_*: one per Java carrier (bool, int8, int16, uint16, int32, int64, float, double,
 * pointer), a mixed and a long signature (arguments on the stack), a struct by pointer, a void function,
 * ferry_testops_thread_id, which records pthread_self() of whichever thread calls it, and
 * ferry_testops_thread_name, which copies that thread's name (the engine thread is named after its engine).
 * No op here: they would move the op ids the C tests count on.
 */
#include "ferry.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define ORDER_PRODUCERS 65536

static int64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#elif defined(__aarch64__)
    __asm__ __volatile__("yield" ::: "memory");
#endif
}

static int op_noop(ferry_call *c, void *d)
{
    (void)d;
    ferry_call_set_i64(c, 0);
    return 0;
}

static int op_add(ferry_call *c, void *d)
{
    (void)d;
    /* Wrapping add, done unsigned so that overflow is defined. */
    ferry_call_set_i64(c, (int64_t)((uint64_t)ferry_call_arg(c, 0) + (uint64_t)ferry_call_arg(c, 1)));
    return 0;
}

static int op_echo(ferry_call *c, void *d)
{
    (void)d;
    ferry_call_set_i64(c, ferry_call_arg(c, 0));
    return 0;
}

static int op_add_f64(ferry_call *c, void *d)
{
    (void)d;
    ferry_call_set_f64(c, ferry_call_arg_f64(c, 0) + ferry_call_arg_f64(c, 1));
    return 0;
}

static int op_echo_bytes(ferry_call *c, void *d)
{
    (void)d;
    size_t len;
    const void *in = ferry_call_input(c, &len);
    if (ferry_call_set_output(c, in, len) != 0)
        return ferry_call_fail(c, ENOMEM, "echo: cannot allocate %zu bytes", len);
    return 0;
}

static int op_checksum(ferry_call *c, void *d)
{
    (void)d;
    size_t len;
    const unsigned char *p = ferry_call_input(c, &len);
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < len; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    ferry_call_set_i64(c, (int64_t)h);
    return 0;
}

static int op_spin(ferry_call *c, void *d)
{
    (void)d;
    int64_t ns = ferry_call_arg(c, 0);
    if (ns < 0)
        return ferry_call_fail(c, EINVAL, "spin: ns must be >= 0, was %lld", (long long)ns);
    int64_t start = now_ns(), now = start;
    while (now - start < ns) {
        for (int i = 0; i < 64; i++)
            cpu_relax();
        if (ferry_call_cancelled(c))
            break;
        now = now_ns();
    }
    ferry_call_set_i64(c, now - start);
    return 0;
}

static int op_fail(ferry_call *c, void *d)
{
    (void)d;
    int64_t code = ferry_call_arg(c, 0);
    size_t len;
    const char *msg = ferry_call_input(c, &len);
    if (code == 0 || code < INT32_MIN || code > INT32_MAX)
        return ferry_call_fail(c, EINVAL, "fail: code must be a non-zero 32-bit integer, was %lld", (long long)code);
    if (len > INT_MAX)
        return ferry_call_fail(c, EINVAL, "fail: a message of %zu bytes is longer than INT_MAX", len);
    const char *nul = memchr(msg, 0, len);
    if (nul && ferry_call_set_output(c, nul + 1, len - (size_t)(nul + 1 - msg)) != 0)
        return ferry_call_fail(c, ENOMEM, "fail: cannot allocate its output");
    return ferry_call_fail(c, (int)code, "%.*s", (int)len, msg);
}

static int op_order(ferry_call *c, void *d)
{
    int64_t *last = d;
    int64_t producer = ferry_call_arg(c, 0), n = ferry_call_arg(c, 1);
    if (producer < 0 || producer >= ORDER_PRODUCERS)
        return ferry_call_fail(c, EINVAL, "order: producer must be in 0..%d, was %lld", ORDER_PRODUCERS - 1,
                               (long long)producer);
    if (n != last[producer] + 1)
        return ferry_call_fail(c, EPROTO, "order: producer %lld ran call %lld after call %lld", (long long)producer,
                               (long long)n, (long long)last[producer]);
    last[producer] = n;
    ferry_call_set_i64(c, n);
    return 0;
}

static int op_var_add(ferry_call *c, void *d)
{
    (void)d;
    size_t len;
    const char *in = ferry_call_input(c, &len);
    char name[256];
    if (len == 0 || len >= sizeof(name))
        return ferry_call_fail(c, EINVAL, "var_add: the variable name must be 1..255 bytes");
    /* A C string ends at its first NUL: such a name would be looked up cut short, as another name. */
    const char *nul = memchr(in, 0, len);
    if (nul)
        return ferry_call_fail(c, EINVAL, "var_add: the variable name has a NUL byte at index %zu; no variable "
                               "can have that name", (size_t)(nul - in));
    memcpy(name, in, len);
    name[len] = '\0';
    ferry_value v;
    if (ferry_call_var(c, name, &v) != 0)
        return ferry_call_fail(c, FERRY_E_NOT_FOUND, "var_add: context '%s' has no variable '%s'",
                               ferry_call_context_name(c), name);
    if (v.type != FERRY_VAR_I64)
        return ferry_call_fail(c, EINVAL, "var_add: variable '%s' is not a 64-bit integer", name);
    ferry_call_set_i64(c, (int64_t)((uint64_t)v.i64 + (uint64_t)ferry_call_arg(c, 0)));
    return 0;
}

static int op_counter(ferry_call *c, void *d)
{
    int64_t *counter = d, sum;
    /* Signed overflow is undefined behaviour: refuse it and leave the counter as it was. */
    if (__builtin_add_overflow(*counter, ferry_call_arg(c, 0), &sum))
        return ferry_call_fail(c, EOVERFLOW, "counter: %lld + %lld overflows a signed 64-bit integer",
                               (long long)*counter, (long long)ferry_call_arg(c, 0));
    *counter = sum;
    ferry_call_set_i64(c, sum);
    return 0;
}

/* ---- plain functions for engine-thread downcalls ------------------------------------------------ */

/* The thread that called last, and its id. */
static _Atomic uint64_t ft_last_thread;

FERRY_API uint64_t ferry_testops_thread_id(void)
{
    uint64_t self = (uint64_t)pthread_self();
    ft_last_thread = self;
    return self;
}

FERRY_API uint64_t ferry_testops_last_thread(void)
{
    return ft_last_thread;
}

/* Copies the calling thread's pthread name into buf (len bytes); returns its length, or -1. */
FERRY_API int32_t ferry_testops_thread_name(char *buf, int32_t len)
{
    if (!buf || len < 16 || pthread_getname_np(pthread_self(), buf, (size_t)len) != 0)
        return -1;
    return (int32_t)strlen(buf);
}

FERRY_API bool ferry_testops_not(bool b) { return !b; }
FERRY_API int8_t ferry_testops_neg_i8(int8_t v) { return (int8_t)-v; }
FERRY_API int16_t ferry_testops_neg_i16(int16_t v) { return (int16_t)-v; }
FERRY_API uint16_t ferry_testops_next_u16(uint16_t v) { return (uint16_t)(v + 1u); }
FERRY_API int32_t ferry_testops_neg_i32(int32_t v) { return (int32_t)(0u - (uint32_t)v); }
FERRY_API int64_t ferry_testops_add_i64(int64_t a, int64_t b) { return (int64_t)((uint64_t)a + (uint64_t)b); }
FERRY_API float ferry_testops_half_f32(float v) { return v / 2.0f; }
FERRY_API double ferry_testops_half_f64(double v) { return v / 2.0; }
FERRY_API int64_t ferry_testops_noop(void) { return 0; }
FERRY_API int64_t ferry_testops_echo_i64(int64_t v) { return v; }

/* Every kind at once, each weighted so that a misplaced argument shows. */
FERRY_API double ferry_testops_mix(bool z, int8_t b, int16_t s, uint16_t c, int32_t i, int64_t j, float f,
                                   double d)
{
    return (z ? 1.0 : 0.0) + 10.0 * b + 100.0 * s + 1000.0 * c + 1e4 * i + 1e5 * (double)j + 1e6 * f + 1e7 * d;
}

/* More arguments than registers: fourteen integers (eight go on the stack) and ten doubles. */
FERRY_API int64_t ferry_testops_sum14(int64_t a0, int32_t a1, int64_t a2, int32_t a3, int64_t a4, int32_t a5,
                                      int64_t a6, int32_t a7, int64_t a8, int32_t a9, int64_t a10, int32_t a11,
                                      int64_t a12, int8_t a13)
{
    int64_t v[] = { a0, a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11, a12, a13 };
    int64_t sum = 0;
    for (int k = 0; k < 14; k++)
        sum = sum * 3 + v[k]; /* order-sensitive */
    return sum;
}

FERRY_API double ferry_testops_sum_f64x10(double a0, double a1, double a2, double a3, double a4, double a5,
                                          double a6, double a7, double a8, double a9)
{
    double v[] = { a0, a1, a2, a3, a4, a5, a6, a7, a8, a9 };
    double sum = 0;
    for (int k = 0; k < 10; k++)
        sum = sum * 2 + v[k];
    return sum;
}

/* Pointers: a sum over an array, and pointer arithmetic returned as a pointer. */
FERRY_API int64_t ferry_testops_sum_array(const int64_t *p, int32_t n)
{
    int64_t sum = 0;
    for (int32_t k = 0; k < n; k++)
        sum += p[k];
    return sum;
}

FERRY_API void *ferry_testops_offset(void *p, int64_t n)
{
    return (char *)p + n;
}

/* A struct by pointer: read, and written back. */
typedef struct ferry_testops_point {
    int32_t x;
    int32_t y;
    double scale;
} ferry_testops_point;

FERRY_API double ferry_testops_point_scale(ferry_testops_point *p)
{
    p->x *= 2;
    p->y *= 2;
    return (p->x + p->y) * p->scale;
}

FERRY_API void ferry_testops_store(int64_t *p, int64_t v)
{
    *p = v;
}

/* Busy for ns nanoseconds (engine-thread hold-ups in tests). Returns the ns spent. */
FERRY_API int64_t ferry_testops_busy(int64_t ns)
{
    int64_t start = now_ns(), t;
    while ((t = now_ns()) - start < ns)
        cpu_relax();
    return t - start;
}

static void order_free(void *d)
{
    free(d);
}

FERRY_API int ferry_testops_init(ferry_registry *reg)
{
    /* order's table, then the counter in the element after it */
    int64_t *order = calloc(ORDER_PRODUCERS + 1, sizeof(int64_t));
    if (!order)
        return ferry_registry_fail(reg, FERRY_E_NOMEM, "out of memory for the test ops");
    int rc = ferry_registry_on_close(reg, order_free, order);
    if (rc < 0) {
        free(order);
        return ferry_registry_fail(reg, rc, "out of memory for the test ops");
    }
    struct {
        const char *name;
        ferry_op_fn fn;
        void *data;
        uint32_t flags;
    } ops[] = {
        { "noop", op_noop, NULL, 0 },
        { "add", op_add, NULL, 0 },
        { "echo", op_echo, NULL, 0 },
        { "add_f64", op_add_f64, NULL, FERRY_OP_F64 },
        { "echo_bytes", op_echo_bytes, NULL, FERRY_OP_IN_BYTES | FERRY_OP_OUT_BYTES },
        { "echo_string", op_echo_bytes, NULL, FERRY_OP_IN_BYTES | FERRY_OP_OUT_BYTES | FERRY_OP_TEXT },
        { "checksum", op_checksum, NULL, FERRY_OP_IN_BYTES },
        { "spin", op_spin, NULL, 0 },
        { "fail", op_fail, NULL, FERRY_OP_IN_BYTES | FERRY_OP_TEXT },
        { "order", op_order, order, FERRY_OP_MUTATES },
        { "var_add", op_var_add, NULL, FERRY_OP_IN_BYTES },
        { "counter", op_counter, order + ORDER_PRODUCERS, FERRY_OP_MUTATES },
    };
    for (size_t i = 0; i < sizeof(ops) / sizeof(ops[0]); i++) {
        rc = ferry_register_op(reg, ops[i].name, ops[i].fn, ops[i].data, ops[i].flags);
        if (rc < 0)
            return ferry_registry_fail(reg, rc, "cannot register test op %s", ops[i].name);
    }
    return 0;
}
