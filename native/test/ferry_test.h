/*
 * ferry_test.h: the few helpers the C tests share. A test is an executable that exits 0 (pass),
 * 1 (fail) or 77 (skip) and prints nothing on success except one summary line.
 *
 * CHECK fails the test at once: a message on stderr, then _exit(1). _exit and not exit, because a failed
 * test may leave an engine thread running or a producer waiting; atexit work must not hang on them.
 */
#ifndef FERRY_TEST_H
#define FERRY_TEST_H

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_THREAD__)
#define FT_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define FT_TSAN 1
#endif
#endif
#ifndef FT_TSAN
#define FT_TSAN 0
#endif

#if defined(__SANITIZE_ADDRESS__)
#define FT_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FT_ASAN 1
#endif
#endif
#ifndef FT_ASAN
#define FT_ASAN 0
#endif

static const char *ft_test_name = "?";

__attribute__((noreturn, format(printf, 3, 4))) static void ft_fail(const char *file, int line, const char *fmt, ...)
{
    fprintf(stderr, "FAIL %s (%s:%d): ", ft_test_name, file, line);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    fflush(stderr);
    _exit(1);
}

#define FAIL(...) ft_fail(__FILE__, __LINE__, __VA_ARGS__)
#define CHECK(cond, ...)        \
    do {                        \
        if (!(cond))            \
            FAIL(__VA_ARGS__);  \
    } while (0)
#define CHECK_EQ_I64(actual, expected, what)                                                               \
    do {                                                                                                   \
        long long ft_a_ = (long long)(actual), ft_e_ = (long long)(expected);                              \
        if (ft_a_ != ft_e_)                                                                                \
            FAIL("%s: expected %lld, got %lld", (what), ft_e_, ft_a_);                                     \
    } while (0)

static inline int64_t ft_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* The test ops' plug-in (native/testops: noop, add, ..., order, spin), built for this test's variant
 * (the Makefile sets FT_TESTOPS_LIB), and its init symbol. No engine has these ops unless it loads it.
 * FERRY_TEST_TESTOPS=path loads another build. */
#ifndef FT_TESTOPS_LIB
#define FT_TESTOPS_LIB "build/native/libferry_testops.so"
#endif
#define FT_TESTOPS_INIT "ferry_testops_init"

static inline const char *ft_testops(void)
{
    const char *env = getenv("FERRY_TEST_TESTOPS");
    return env && *env ? env : FT_TESTOPS_LIB;
}

/* The test ops' names, for the checks that an engine without the plug-in has none of them. */
static const char *const ft_test_op_names[] = { "noop", "add", "echo", "add_f64", "echo_bytes", "echo_string",
                                                "checksum", "spin", "fail", "order", "var_add", "counter" };
#define FT_TEST_OPS ((int)(sizeof ft_test_op_names / sizeof ft_test_op_names[0]))

#define FT_MS INT64_C(1000000)
#define FT_SEC INT64_C(1000000000)

/* How long any single wait may take before the test calls it a hang and fails. Sanitizers are slow.
 * FERRY_TEST_HANG_S overrides it (seconds). */
static inline int64_t ft_hang_ns(void)
{
    const char *env = getenv("FERRY_TEST_HANG_S");
    if (env && *env) {
        double v = strtod(env, NULL);
        if (v > 0)
            return (int64_t)(v * 1e9);
    }
    return (FT_TSAN ? 60 : FT_ASAN ? 30 : 20) * FT_SEC;
}

/* Work multiplier: FERRY_TEST_SCALE (a positive number, default 1) times a sanitizer factor, so the
 * ring tests stay within a few seconds plain and within a minute under TSan. */
static inline double ft_scale(void)
{
    double s = 1.0;
    const char *env = getenv("FERRY_TEST_SCALE");
    if (env && *env) {
        double v = strtod(env, NULL);
        if (v > 0)
            s = v;
    }
    if (FT_TSAN)
        s *= 0.5;
    else if (FT_ASAN)
        s *= 0.5;
    return s;
}

static inline long ft_scaled(long base, long min)
{
    double v = (double)base * ft_scale();
    return v < (double)min ? min : (long)v;
}

/* FERRY_TEST_VERBOSE=1: one timing line per test case on stderr (silent by default). */
static inline void ft_case_done(const char *name, int64_t started_ns)
{
    const char *v = getenv("FERRY_TEST_VERBOSE");
    if (v && *v && *v != '0')
        fprintf(stderr, "  %-28s %8.3f s\n", name, (double)(ft_now_ns() - started_ns) / 1e9);
}

/* A growable byte buffer, for building the inputs the tests send (bb_put appends). */
typedef struct bb {
    unsigned char *p;
    size_t len, cap;
} bb;

static inline void bb_put(bb *b, const void *d, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 64;
        while (cap < b->len + n)
            cap *= 2;
        b->p = realloc(b->p, cap);
        CHECK(b->p != NULL, "realloc(%zu)", cap);
        b->cap = cap;
    }
    if (n)
        memcpy(b->p + b->len, d, n);
    b->len += n;
}

#endif /* FERRY_TEST_H */
