/*
 * test_ffi.c: engine-thread downcalls (ferry_ffi.c; ferry.h, "Engine-thread downcalls") driven through
 * the ring as Java drives them: ferry.ffi_prepare binds a function of the test ops' plug-in, by name or
 * by address, ferry.ffi_channel makes a channel, and ferry.ffi_call runs the function on the engine
 * thread with the arguments written into the channel.
 *
 *   kinds          every argument and return kind (bool, int8, int16, uint16, int32, int64, float,
 *                  double, pointer, void), with values at the edges of each type (sign and zero
 *                  extension of narrow returns), a mixed signature, fourteen integer and ten double
 *                  arguments (the stack), no arguments
 *   pointers       an array summed through a pointer, a pointer returned, a struct by pointer read and
 *                  written back, a void function that stores through a pointer
 *   engine_thread  the function runs on the engine thread: its pthread_self() is the one the C op
 *                  thread_id reports on the engine thread, not the caller's
 *   refusals       a wrong key (prepare and channel), a short or inconsistent input, an unknown kind, a
 *                  void argument, too many arguments, an address and a name at once, a missing symbol
 *                  ("unresolved symbol: NAME"), a token or channel id that was never issued: each fails
 *                  with its code and leaves the engine working
 *   by_address     a handle bound by address (dlsym of the plug-in) calls the same function as one bound
 *                  by name
 *   producers      four threads, each with its own channel, make calls at once with every result checked
 *                  (TSan watches the channel hand-over through the ring)
 *   stop           an engine stops with handles and channels: the registry is freed at stop (ASan's leak
 *                  check), the channels are the host's to free
 *   forged_tokens  ferry.ffi_call takes a handle's token (index and random tag), not its index: the index
 *                  alone, a flipped tag bit and a previous engine's token are refused, and after 64 wrong
 *                  tokens every downcall of the engine is (ops still run)
 */
#include "ferry_test.h"
#include "ring_client.h"
#include "ferry_internal.h" /* engine_thread compares with the engine's pthread_t */

#include <dlfcn.h>
#include <pthread.h>
#include <stdbool.h>

static struct {
    int32_t prepare, channel, call;
} O;

static uint64_t KEY;

static void start(ring *r)
{
    char err[512] = "";
    int rc = ring_start(r, 256, 1000000, ft_testops(), FT_TESTOPS_INIT, NULL, err, sizeof err);
    CHECK(rc == 0, "ferry_engine_start: %d %s", rc, err);
    r->hang_ns = ft_hang_ns();
    O.prepare = ring_op(r, "ferry.ffi_prepare");
    O.channel = ring_op(r, "ferry.ffi_channel");
    O.call = ring_op(r, "ferry.ffi_call");
    CHECK(O.prepare >= 0 && O.channel >= 0 && O.call >= 0, "missing ops: %d %d %d", O.prepare, O.channel, O.call);
    uint32_t flags = 0;
    ferry_op_lookup(r->engine, "ferry.ffi_call", &flags);
    CHECK((flags & FERRY_OP_INTERNAL) && (flags & FERRY_OP_SYSTEM), "ferry.ffi_call flags %#x", flags);
}

static void stop(ring *r)
{
    CHECK(ring_stop(r, ft_hang_ns()) == 0, "the engine did not stop");
}

/* The prepare input: key, address, nargs, return kind, kinds, name. */
static size_t encode(unsigned char *buf, uint64_t key, uint64_t address, uint8_t ret, const uint8_t *kinds,
                     uint32_t nargs, const char *name)
{
    memcpy(buf, &key, 8);
    memcpy(buf + 8, &address, 8);
    memcpy(buf + 16, &nargs, 4);
    buf[20] = ret;
    if (nargs)
        memcpy(buf + 21, kinds, nargs);
    size_t n = 21 + nargs;
    if (name) {
        memcpy(buf + n, name, strlen(name));
        n += strlen(name);
    }
    return n;
}

/* Prepares; returns the handle id, or the negative error with res kept for the caller (when want_err). */
static int64_t prepare_raw(ring *r, uint64_t key, uint64_t address, uint8_t ret, const uint8_t *kinds,
                           uint32_t nargs, const char *name, ring_res *res)
{
    unsigned char buf[8192];
    size_t n = encode(buf, key, address, ret, kinds, nargs, name);
    CHECK(ring_call_bytes(r, O.prepare, 0, buf, n, res) == RING_OK, "prepare: ring call failed");
    return res->err ? res->err : res->result;
}

/* The argument counts of the handles prepared so far, by token: a call of one argument passes it in arg1. */
static struct {
    int64_t token;
    uint32_t nargs;
} handles[512];
static int n_handles;

static void remember(int64_t token, uint32_t nargs)
{
    CHECK(n_handles < 512, "too many handles for the test's table");
    handles[n_handles].token = token;
    handles[n_handles++].nargs = nargs;
}

static int64_t prepare(ring *r, const char *name, uint8_t ret, const uint8_t *kinds, uint32_t nargs)
{
    ring_res res = { 0 };
    int64_t h = prepare_raw(r, KEY, 0, ret, kinds, nargs, name, &res);
    CHECK(res.err == 0, "prepare %s: err %d (%s)", name, res.err, res.out ? res.out : "");
    ring_res_free(&res);
    CHECK(h > 0, "prepare %s: token %lld", name, (long long)h);
    remember(h, nargs);
    return h;
}

typedef struct chan {
    unsigned char *p;
    uint32_t id;
} chan;

static chan channel(ring *r)
{
    ring_res res = { 0 };
    CHECK(ring_call2(r, O.channel, (int64_t)KEY, 0, &res) == RING_OK, "channel: ring call failed");
    CHECK(res.err == 0, "channel: err %d (%s)", res.err, res.out ? res.out : "");
    chan c = { (unsigned char *)(uintptr_t)res.result, 0 };
    CHECK(c.p != NULL && ((uintptr_t)c.p & 63) == 0, "channel at %p", (void *)c.p);
    memcpy(&c.id, c.p, 4);
    for (uint32_t i = 4; i < FERRY_FFI_CHANNEL_BYTES; i++)
        CHECK(c.p[i] == 0, "channel byte %u is %u, not zeroed", i, c.p[i]);
    return c;
}

static void arg_i64(chan *c, int i, int64_t v)
{
    memcpy(c->p + FERRY_FFI_CHANNEL_ARGS + 8 * (size_t)i, &v, 8);
}

static void arg_f32(chan *c, int i, float v)
{
    uint32_t b;
    memcpy(&b, &v, 4);
    arg_i64(c, i, (int64_t)b);
}

static void arg_f64(chan *c, int i, double v)
{
    memcpy(c->p + FERRY_FFI_CHANNEL_ARGS + 8 * (size_t)i, &v, 8);
}

static void arg_ptr(chan *c, int i, const void *p)
{
    arg_i64(c, i, (int64_t)(uintptr_t)p);
}

static int64_t call(ring *r, int64_t h, const chan *c)
{
    ring_res res = { 0 };
    int64_t arg1 = c ? (int64_t)c->id : -1;
    for (int i = 0; i < n_handles; i++) {
        if (handles[i].token == h && handles[i].nargs == 1) {
            CHECK(c != NULL, "a call of one argument needs a channel in this test (it holds the argument)");
            memcpy(&arg1, c->p + FERRY_FFI_CHANNEL_ARGS, 8); /* passed in arg1, not through the channel */
        }
    }
    CHECK(ring_call2(r, O.call, h, arg1, &res) == RING_OK, "call: ring call failed");
    CHECK(res.err == 0, "call %lld: err %d (%s)", (long long)h, res.err, res.out ? res.out : "");
    ring_res_free(&res);
    return res.result;
}

static float as_f32(int64_t bits)
{
    uint32_t b = (uint32_t)bits;
    float f;
    memcpy(&f, &b, 4);
    return f;
}

static double as_f64(int64_t bits)
{
    double d;
    memcpy(&d, &bits, 8);
    return d;
}

/* ---- cases -------------------------------------------------------------------------------------- */

static void test_kinds(void)
{
    ring r;
    start(&r);
    chan c = channel(&r);

    const uint8_t k_bool[] = { FERRY_FFI_BOOL };
    int64_t h = prepare(&r, "ferry_testops_not", FERRY_FFI_BOOL, k_bool, 1);
    arg_i64(&c, 0, 1);
    CHECK_EQ_I64(call(&r, h, &c), 0, "not(true)");
    arg_i64(&c, 0, 0);
    CHECK_EQ_I64(call(&r, h, &c), 1, "not(false)");

    const uint8_t k_i8[] = { FERRY_FFI_I8 };
    h = prepare(&r, "ferry_testops_neg_i8", FERRY_FFI_I8, k_i8, 1);
    arg_i64(&c, 0, 5);
    CHECK_EQ_I64(call(&r, h, &c), -5, "neg_i8(5) sign-extended");
    arg_i64(&c, 0, -128);
    CHECK_EQ_I64(call(&r, h, &c), -128, "neg_i8(-128) wraps");
    arg_i64(&c, 0, 0x7f01); /* only the low byte is the argument */
    CHECK_EQ_I64(call(&r, h, &c), -1, "neg_i8 reads one byte");

    const uint8_t k_i16[] = { FERRY_FFI_I16 };
    h = prepare(&r, "ferry_testops_neg_i16", FERRY_FFI_I16, k_i16, 1);
    arg_i64(&c, 0, 300);
    CHECK_EQ_I64(call(&r, h, &c), -300, "neg_i16(300)");

    const uint8_t k_u16[] = { FERRY_FFI_U16 };
    h = prepare(&r, "ferry_testops_next_u16", FERRY_FFI_U16, k_u16, 1);
    arg_i64(&c, 0, 0xfffe);
    CHECK_EQ_I64(call(&r, h, &c), 0xffff, "next_u16(0xfffe) zero-extended");
    arg_i64(&c, 0, 0xffff);
    CHECK_EQ_I64(call(&r, h, &c), 0, "next_u16(0xffff) wraps");

    const uint8_t k_i32[] = { FERRY_FFI_I32 };
    h = prepare(&r, "ferry_testops_neg_i32", FERRY_FFI_I32, k_i32, 1);
    arg_i64(&c, 0, 123456789);
    CHECK_EQ_I64(call(&r, h, &c), -123456789, "neg_i32");
    arg_i64(&c, 0, INT32_MIN);
    CHECK_EQ_I64(call(&r, h, &c), INT32_MIN, "neg_i32(MIN) wraps");

    const uint8_t k_i64[] = { FERRY_FFI_I64, FERRY_FFI_I64 };
    h = prepare(&r, "ferry_testops_add_i64", FERRY_FFI_I64, k_i64, 2);
    arg_i64(&c, 0, INT64_MAX);
    arg_i64(&c, 1, 1);
    CHECK_EQ_I64(call(&r, h, &c), INT64_MIN, "add_i64 wraps");

    const uint8_t k_f32[] = { FERRY_FFI_F32 };
    h = prepare(&r, "ferry_testops_half_f32", FERRY_FFI_F32, k_f32, 1);
    arg_f32(&c, 0, 3.0f);
    CHECK(as_f32(call(&r, h, &c)) == 1.5f, "half_f32(3)");

    const uint8_t k_f64[] = { FERRY_FFI_F64 };
    h = prepare(&r, "ferry_testops_half_f64", FERRY_FFI_F64, k_f64, 1);
    arg_f64(&c, 0, -7.0);
    CHECK(as_f64(call(&r, h, &c)) == -3.5, "half_f64(-7)");

    h = prepare(&r, "ferry_testops_noop", FERRY_FFI_I64, NULL, 0);
    CHECK_EQ_I64(call(&r, h, NULL), 0, "noop() without a channel");

    const uint8_t k_mix[] = { FERRY_FFI_BOOL, FERRY_FFI_I8,  FERRY_FFI_I16, FERRY_FFI_U16,
                              FERRY_FFI_I32,  FERRY_FFI_I64, FERRY_FFI_F32, FERRY_FFI_F64 };
    h = prepare(&r, "ferry_testops_mix", FERRY_FFI_F64, k_mix, 8);
    arg_i64(&c, 0, 1);
    arg_i64(&c, 1, 2);
    arg_i64(&c, 2, 3);
    arg_i64(&c, 3, 4);
    arg_i64(&c, 4, 5);
    arg_i64(&c, 5, 6);
    arg_f32(&c, 6, 7.0f);
    arg_f64(&c, 7, 8.0);
    CHECK(as_f64(call(&r, h, &c)) == 87654321.0, "mix: %f", as_f64(call(&r, h, &c)));

    const uint8_t k_14[] = { FERRY_FFI_I64, FERRY_FFI_I32, FERRY_FFI_I64, FERRY_FFI_I32, FERRY_FFI_I64,
                             FERRY_FFI_I32, FERRY_FFI_I64, FERRY_FFI_I32, FERRY_FFI_I64, FERRY_FFI_I32,
                             FERRY_FFI_I64, FERRY_FFI_I32, FERRY_FFI_I64, FERRY_FFI_I8 };
    h = prepare(&r, "ferry_testops_sum14", FERRY_FFI_I64, k_14, 14);
    int64_t expected = 0;
    for (int i = 0; i < 14; i++) {
        int64_t v = (i % 2 ? -1 : 1) * (i + 1);
        arg_i64(&c, i, v);
        expected = expected * 3 + v;
    }
    CHECK_EQ_I64(call(&r, h, &c), expected, "sum14");

    uint8_t k_d10[10];
    memset(k_d10, FERRY_FFI_F64, sizeof k_d10);
    h = prepare(&r, "ferry_testops_sum_f64x10", FERRY_FFI_F64, k_d10, 10);
    double dexp = 0;
    for (int i = 0; i < 10; i++) {
        arg_f64(&c, i, i + 0.5);
        dexp = dexp * 2 + (i + 0.5);
    }
    CHECK(as_f64(call(&r, h, &c)) == dexp, "sum_f64x10");

    stop(&r);
    free(c.p);
}

static void test_pointers(void)
{
    ring r;
    start(&r);
    chan c = channel(&r);

    int64_t values[] = { 1, 2, 3, 4, 5, 1000 };
    const uint8_t k_sum[] = { FERRY_FFI_PTR, FERRY_FFI_I32 };
    int64_t h = prepare(&r, "ferry_testops_sum_array", FERRY_FFI_I64, k_sum, 2);
    arg_ptr(&c, 0, values);
    arg_i64(&c, 1, 6);
    CHECK_EQ_I64(call(&r, h, &c), 1015, "sum_array");

    const uint8_t k_off[] = { FERRY_FFI_PTR, FERRY_FFI_I64 };
    h = prepare(&r, "ferry_testops_offset", FERRY_FFI_PTR, k_off, 2);
    arg_ptr(&c, 0, values);
    arg_i64(&c, 1, 16);
    CHECK_EQ_I64(call(&r, h, &c), (int64_t)(uintptr_t)&values[2], "offset returns a pointer");

    struct {
        int32_t x, y;
        double scale;
    } pt = { 3, 4, 0.5 };
    const uint8_t k_pt[] = { FERRY_FFI_PTR };
    h = prepare(&r, "ferry_testops_point_scale", FERRY_FFI_F64, k_pt, 1);
    arg_ptr(&c, 0, &pt);
    CHECK(as_f64(call(&r, h, &c)) == 7.0, "point_scale");
    CHECK(pt.x == 6 && pt.y == 8, "the struct was written back: %d %d", pt.x, pt.y);

    int64_t cell = 0;
    const uint8_t k_store[] = { FERRY_FFI_PTR, FERRY_FFI_I64 };
    h = prepare(&r, "ferry_testops_store", FERRY_FFI_VOID, k_store, 2);
    arg_ptr(&c, 0, &cell);
    arg_i64(&c, 1, -42);
    CHECK_EQ_I64(call(&r, h, &c), 0, "a void function returns 0");
    CHECK_EQ_I64(cell, -42, "store wrote through the pointer");

    stop(&r);
    free(c.p);
}

static void test_engine_thread(void)
{
    ring r;
    start(&r);
    uint64_t engine = (uint64_t)r.engine->thread;
    int64_t h = prepare(&r, "ferry_testops_thread_id", FERRY_FFI_I64, NULL, 0);
    uint64_t ran_on = (uint64_t)call(&r, h, NULL);
    CHECK(ran_on == engine, "the downcall ran on thread %#llx, the engine thread is %#llx",
          (unsigned long long)ran_on, (unsigned long long)engine);
    CHECK(ran_on != (uint64_t)pthread_self(), "the downcall ran on the caller's thread");
    chan c = channel(&r);
    char name[64] = "";
    const uint8_t k[] = { FERRY_FFI_PTR, FERRY_FFI_I32 };
    h = prepare(&r, "ferry_testops_thread_name", FERRY_FFI_I32, k, 2);
    arg_ptr(&c, 0, name);
    arg_i64(&c, 1, sizeof name);
    CHECK_EQ_I64(call(&r, h, &c), strlen("ferry-engine"), "thread_name's length");
    CHECK(strcmp(name, "ferry-engine") == 0, "the downcall ran on thread '%s', not 'ferry-engine'", name);
    stop(&r);
    free(c.p);
}

static void check_refused(ring_res *res, int32_t code, const char *fragment, const char *what)
{
    CHECK(res->err == code, "%s: err %d, expected %d (%s)", what, res->err, code, res->out ? res->out : "");
    CHECK(res->out && strstr(res->out, fragment), "%s: message '%s' lacks '%s'", what, res->out ? res->out : "",
          fragment);
    ring_res_free(res);
}

static void test_refusals(void)
{
    ring r;
    start(&r);
    ring_res res = { 0 };
    const uint8_t k1[] = { FERRY_FFI_I64, FERRY_FFI_I64 };

    prepare_raw(&r, KEY ^ 1, 0, FERRY_FFI_I64, k1, 2, "ferry_testops_add_i64", &res);
    check_refused(&res, FERRY_E_DENIED, "wrong key", "prepare with a wrong key");
    CHECK(ring_call2(&r, O.channel, (int64_t)(KEY + 1), 0, &res) == RING_OK, "channel call");
    check_refused(&res, FERRY_E_DENIED, "wrong key", "channel with a wrong key");

    unsigned char buf[64];
    size_t n = encode(buf, KEY, 0, FERRY_FFI_I64, k1, 2, NULL);
    CHECK(ring_call_bytes(&r, O.prepare, 0, buf, 10, &res) == RING_OK, "call");
    check_refused(&res, FERRY_E_INVALID, "too short", "a short input");
    uint32_t lie = 40;
    memcpy(buf + 16, &lie, 4);
    CHECK(ring_call_bytes(&r, O.prepare, 0, buf, n, &res) == RING_OK, "call");
    check_refused(&res, FERRY_E_INVALID, "no room", "nargs past the input");

    const uint8_t bad[] = { FERRY_FFI_I64, 77 };
    prepare_raw(&r, KEY, 0, FERRY_FFI_I64, bad, 2, "ferry_testops_add_i64", &res);
    check_refused(&res, FERRY_E_INVALID, "unknown kind 77 of argument 1", "an unknown kind");
    const uint8_t void_arg[] = { FERRY_FFI_VOID };
    prepare_raw(&r, KEY, 0, FERRY_FFI_I64, void_arg, 1, "ferry_testops_add_i64", &res);
    check_refused(&res, FERRY_E_INVALID, "unknown kind 0", "a void argument");
    prepare_raw(&r, KEY, 0, 99, k1, 2, "ferry_testops_add_i64", &res);
    check_refused(&res, FERRY_E_INVALID, "unknown return kind", "an unknown return kind");
    uint8_t many[FERRY_FFI_MAX_ARGS + 1];
    memset(many, FERRY_FFI_I64, sizeof many);
    prepare_raw(&r, KEY, 0, FERRY_FFI_I64, many, FERRY_FFI_MAX_ARGS + 1, "ferry_testops_add_i64", &res);
    check_refused(&res, FERRY_E_INVALID, "at most", "too many arguments");
    prepare_raw(&r, KEY, 0x1000, FERRY_FFI_I64, k1, 2, "ferry_testops_add_i64", &res);
    check_refused(&res, FERRY_E_INVALID, "both an address and a symbol name", "address and name");
    prepare_raw(&r, KEY, 0, FERRY_FFI_I64, k1, 2, NULL, &res);
    check_refused(&res, FERRY_E_INVALID, "no valid symbol name", "neither address nor name");
    prepare_raw(&r, KEY, 0, FERRY_FFI_I64, k1, 2, "ferry_testops_no_such_function", &res);
    check_refused(&res, FERRY_E_NOT_FOUND, "unresolved symbol: ferry_testops_no_such_function", "a missing symbol");

    CHECK(ring_call2(&r, O.call, 12345, 0, &res) == RING_OK, "call");
    check_refused(&res, FERRY_E_DENIED, "0x3039 is not a downcall handle's token", "a handle never issued");
    CHECK(ring_call2(&r, O.call, -1, 0, &res) == RING_OK, "call");
    check_refused(&res, FERRY_E_DENIED, "is not a downcall handle's token", "a negative token");
    int64_t h = prepare(&r, "ferry_testops_add_i64", FERRY_FFI_I64, k1, 2);
    CHECK((h & 0xfffff) == 0, "the first handle has index 0: token %#llx", (unsigned long long)h);
    CHECK(ring_call2(&r, O.call, 0, 0, &res) == RING_OK, "call");
    check_refused(&res, FERRY_E_DENIED, "is not a downcall handle's token", "the index without the tag");
    CHECK(ring_call2(&r, O.call, h ^ (INT64_C(1) << 30), 0, &res) == RING_OK, "call");
    check_refused(&res, FERRY_E_DENIED, "is not a downcall handle's token", "a token with one bit of its tag flipped");
    CHECK(ring_call2(&r, O.call, h, 7, &res) == RING_OK, "call");
    check_refused(&res, FERRY_E_INVALID, "no channel 7", "a channel never issued");

    /* Still working. */
    chan c = channel(&r);
    arg_i64(&c, 0, 40);
    arg_i64(&c, 1, 2);
    CHECK_EQ_I64(call(&r, h, &c), 42, "a call after the refusals");
    stop(&r);
    free(c.p);
}

static void test_by_address(void)
{
    ring r;
    start(&r);
    void *lib = dlopen(ft_testops(), RTLD_NOW | RTLD_NOLOAD);
    CHECK(lib != NULL, "the plug-in is not loaded: %s", dlerror());
    void *fn = dlsym(lib, "ferry_testops_add_i64");
    CHECK(fn != NULL, "dlsym: %s", dlerror());
    ring_res res = { 0 };
    const uint8_t k[] = { FERRY_FFI_I64, FERRY_FFI_I64 };
    int64_t h = prepare_raw(&r, KEY, (uint64_t)(uintptr_t)fn, FERRY_FFI_I64, k, 2, NULL, &res);
    CHECK(res.err == 0 && h >= 0, "prepare by address: %d %s", res.err, res.out ? res.out : "");
    ring_res_free(&res);
    chan c = channel(&r);
    arg_i64(&c, 0, -5);
    arg_i64(&c, 1, 3);
    CHECK_EQ_I64(call(&r, h, &c), -2, "add_i64 by address");
    dlclose(lib);
    stop(&r);
    free(c.p);
}

typedef struct producer {
    ring *r;
    int64_t handle;
    int id;
    long calls;
    chan c;
} producer;

static void *producer_main(void *arg)
{
    producer *p = arg;
    for (long i = 0; i < p->calls; i++) {
        int64_t a = (int64_t)p->id << 40, b = i;
        arg_i64(&p->c, 0, a);
        arg_i64(&p->c, 1, b);
        int64_t got = call(p->r, p->handle, &p->c);
        CHECK(got == a + b, "producer %d call %ld: %lld != %lld", p->id, i, (long long)got, (long long)(a + b));
    }
    return NULL;
}

static void test_producers(void)
{
    ring r;
    start(&r);
    const uint8_t k[] = { FERRY_FFI_I64, FERRY_FFI_I64 };
    int64_t h = prepare(&r, "ferry_testops_add_i64", FERRY_FFI_I64, k, 2);
    enum { N = 4 };
    producer ps[N];
    pthread_t ts[N];
    for (int i = 0; i < N; i++) {
        ps[i] = (producer){ &r, h, i, ft_scaled(20000, 500), channel(&r) };
        CHECK(pthread_create(&ts[i], NULL, producer_main, &ps[i]) == 0, "pthread_create");
    }
    for (int i = 0; i < N; i++)
        pthread_join(ts[i], NULL);
    stop(&r);
    for (int i = 0; i < N; i++)
        free(ps[i].c.p);
}

static void test_stop(void)
{
    ring r;
    start(&r);
    const uint8_t k[] = { FERRY_FFI_I64, FERRY_FFI_I64 };
    chan cs[40];
    for (int i = 0; i < 40; i++) {
        prepare(&r, "ferry_testops_add_i64", FERRY_FFI_I64, k, 2);
        cs[i] = channel(&r);
        CHECK_EQ_I64(cs[i].id, i, "channel ids count up");
    }
    stop(&r);
    /* After the stop the host still owns the channels' memory: writing it is fine until it frees it. */
    for (int i = 0; i < 40; i++) {
        arg_i64(&cs[i], 0, i);
        free(cs[i].p);
    }
    /* A new engine has no handles and no channels of the old one. */
    int64_t old = handles[n_handles - 1].token;
    start(&r);
    ring_res res = { 0 };
    CHECK(ring_call2(&r, O.call, old, 0, &res) == RING_OK, "call");
    check_refused(&res, FERRY_E_DENIED, "is not a downcall handle's token", "a handle of the previous engine");
    stop(&r);
}

/* Guessing tokens is no way in: after 64 wrong ones every downcall of the engine is refused, the good
 * token's too, while ops keep working. */
static void test_forged_tokens(void)
{
    ring r;
    start(&r);
    const uint8_t k[] = { FERRY_FFI_I64, FERRY_FFI_I64 };
    int64_t h = prepare(&r, "ferry_testops_add_i64", FERRY_FFI_I64, k, 2);
    chan c = channel(&r);
    arg_i64(&c, 0, 1);
    arg_i64(&c, 1, 2);
    CHECK_EQ_I64(call(&r, h, &c), 3, "a call with the token");
    ring_res res = { 0 };
    for (int i = 0; i < 64; i++) {
        CHECK(ring_call2(&r, O.call, h + ((int64_t)(i + 1) << 20), c.id, &res) == RING_OK, "call");
        check_refused(&res, FERRY_E_DENIED, "is not a downcall handle's token", "a guessed token");
    }
    CHECK(ring_call2(&r, O.call, h, c.id, &res) == RING_OK, "call");
    check_refused(&res, FERRY_E_DENIED, "saw 64 forged downcall tokens", "the good token after 64 forged ones");
    ring_req q = { .op = ring_op(&r, "add"), .arg0 = 2, .arg1 = 3 };
    CHECK(ring_call(&r, &q, &res) == RING_OK && res.err == 0 && res.result == 5, "ops still run");
    ring_res_free(&res);
    stop(&r);
    free(c.p);
}

#define RUN(name)                       \
    do {                                \
        ft_test_name = #name;           \
        int64_t t0_ = ft_now_ns();      \
        test_##name();                  \
        ft_case_done(#name, t0_);       \
    } while (0)

int main(void)
{
    KEY = ferry_ffi_key();
    CHECK(KEY != 0 && KEY == ferry_ffi_key(), "the key is fixed and not 0");
    RUN(kinds);
    RUN(pointers);
    RUN(engine_thread);
    RUN(refusals);
    RUN(by_address);
    RUN(producers);
    RUN(stop);
    RUN(forged_tokens);
    printf("test_ffi: 8 cases passed\n");
    return 0;
}
