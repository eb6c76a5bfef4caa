/*
 * ferry_ffi.c: engine-thread downcalls. A native function bound once ("prepared": its libffi call
 * interface built and kept) and then called on the engine thread with arguments a Java caller wrote
 * into a channel, so that no Java code runs on the engine thread for it (ferry.h, "Engine-thread
 * downcalls").
 *
 * Everything here runs on the engine thread (the three ops and the close hook), so nothing is locked:
 * the handle and channel tables are the engine thread's own, like the context table.
 *
 * Why the ops are safe to expose as ops at all. Ferry's rule is that no op takes a code or heap address
 * from its caller, because io.ferry.spi.EngineOps lets any Java code call an internal op, including
 * code that has no native access. FERRY_OP_INTERNAL alone is a convention, not a boundary, so:
 *   - ferry.ffi_prepare is the one op that takes a code address (or a symbol name, which is as good
 *     as one). It demands the process's downcall key: a random 64-bit number that only ferry_ffi_key()
 *     returns, a C function that Java can call only through FFM, that is only with native access, which
 *     can call any address anyway. Ferry's own Java code (io.ferry.internal.Downcalls) calls it once.
 *     The address is bound here, once, by that code; no later call can change it.
 *   - ferry.ffi_call takes no address: arg0 is the handle's token, which ferry.ffi_prepare returned to
 *     that code only: the handle's index and 44 random bits. A caller without the token cannot call the
 *     function at all (a wrong token fails; after FERRY__FFI_MAX_FORGED of them every downcall of the
 *     engine is refused, so guessing is no way in). Its arguments are the token holder's: arg1 itself
 *     for a function of one argument, else the bytes of a channel, memory whose address only the code
 *     that made the channel learnt (a zero-length segment to Java: writing it needs the restricted
 *     MemorySegment.reinterpret).
 *   - ferry.ffi_channel demands the key too (it hands out an address).
 */
#include "ferry_ffi.h"

#include <dlfcn.h>
#include <ffi.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#define FERRY__FFI_INDEX_BITS 20
#define FERRY__FFI_MAX_HANDLES (1u << FERRY__FFI_INDEX_BITS)
#define FERRY__FFI_MAX_FORGED 64u
#define FERRY__FFI_MAX_CHANNELS 65536u
#define FERRY__FFI_NAME_MAX 4096u

typedef struct ferry__ffi_fn {
    ffi_cif cif;
    uint64_t token;         /* what ferry.ffi_call's arg0 must be: tag << FERRY__FFI_INDEX_BITS | index */
    void (*fn)(void);
    uint32_t nargs;
    uint8_t ret;            /* FERRY_FFI_* */
    ffi_type *types[];      /* nargs: static ffi_type objects, which outlive the cif as libffi requires */
} ferry__ffi_fn;

typedef struct ferry__ffi {
    ferry_engine *engine;
    uint64_t key;
    ferry__ffi_fn **fns;
    uint32_t nfns;
    uint32_t fns_cap;
    unsigned char **chans;  /* the host owns and frees the memory (it may still write it after stop) */
    uint32_t nchans;
    uint32_t chans_cap;
    uint64_t rng;           /* splitmix64 state for the tokens' tags, seeded from getrandom */
    uint32_t forged;        /* wrong tokens seen; at FERRY__FFI_MAX_FORGED every call is refused */
} ferry__ffi;

/* ---- the process's key -------------------------------------------------------------------------- */

static uint64_t ferry__ffi_the_key;
static pthread_once_t ferry__ffi_key_once = PTHREAD_ONCE_INIT;

/* 64 random bits from the kernel, else (a very old kernel) from the clock and an address. */
static uint64_t ferry__ffi_random(void)
{
    uint64_t k = 0;
    if (getrandom(&k, sizeof k, 0) != (ssize_t)sizeof k) {
        /* No entropy source (a very old kernel): the clock and an address, weak but never a constant. */
        struct timespec ts;
        clock_gettime(CLOCK_REALTIME, &ts);
        k = ((uint64_t)ts.tv_nsec << 32) ^ (uint64_t)ts.tv_sec ^ (uint64_t)(uintptr_t)&k;
        k *= UINT64_C(0x9e3779b97f4a7c15);
    }
    return k;
}

static void ferry__ffi_make_key(void)
{
    uint64_t k = ferry__ffi_random();
    ferry__ffi_the_key = k ? k : 1;
}

/* splitmix64: the next tag source value. */
static uint64_t ferry__ffi_next(ferry__ffi *f)
{
    uint64_t z = (f->rng += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint64_t ferry_ffi_key(void)
{
    pthread_once(&ferry__ffi_key_once, ferry__ffi_make_key);
    return ferry__ffi_the_key;
}

/* ---- kinds -------------------------------------------------------------------------------------- */

/* The libffi type of a FERRY_FFI_* kind (VOID only as a return), or NULL. The Linker's C mapping:
 * boolean is C bool (one byte, 0 or 1), char is an unsigned 16-bit integer. */
static ffi_type *ferry__ffi_type(uint8_t kind, bool is_return)
{
    switch (kind) {
    case FERRY_FFI_VOID: return is_return ? &ffi_type_void : NULL;
    case FERRY_FFI_BOOL: return &ffi_type_uint8;
    case FERRY_FFI_I8: return &ffi_type_sint8;
    case FERRY_FFI_I16: return &ffi_type_sint16;
    case FERRY_FFI_U16: return &ffi_type_uint16;
    case FERRY_FFI_I32: return &ffi_type_sint32;
    case FERRY_FFI_I64: return &ffi_type_sint64;
    case FERRY_FFI_F32: return &ffi_type_float;
    case FERRY_FFI_F64: return &ffi_type_double;
    case FERRY_FFI_PTR: return &ffi_type_pointer;
    default: return NULL;
    }
}

/* ---- ops ---------------------------------------------------------------------------------------- */

static uint64_t ferry__ffi_u64(const unsigned char *p)
{
    uint64_t v;
    memcpy(&v, p, 8);
    return v;
}

/* ferry.ffi_prepare: see ferry.h. Binds the function and builds its call interface, once. */
static int op_ffi_prepare(ferry_call *c, void *data)
{
    ferry__ffi *f = data;
    size_t len;
    const unsigned char *in = ferry_call_input(c, &len);
    if (!in || len < 21)
        return ferry_call_fail(c, FERRY_E_INVALID, "ferry.ffi_prepare: input of %zu bytes is too short", len);
    if (ferry__ffi_u64(in) != f->key)
        return ferry_call_fail(c, FERRY_E_DENIED, "ferry.ffi_prepare: wrong key (only Ferry's own code, which "
                                                  "has native access, binds downcalls)");
    uint64_t address = ferry__ffi_u64(in + 8);
    uint32_t nargs;
    memcpy(&nargs, in + 16, 4);
    uint8_t ret = in[20];
    if (nargs > FERRY_FFI_MAX_ARGS)
        return ferry_call_fail(c, FERRY_E_INVALID, "ferry.ffi_prepare: %u arguments, at most %u", nargs,
                               FERRY_FFI_MAX_ARGS);
    if ((size_t)21 + nargs > len)
        return ferry_call_fail(c, FERRY_E_INVALID, "ferry.ffi_prepare: input of %zu bytes has no room for %u "
                                                   "argument kinds", len, nargs);
    const unsigned char *kinds = in + 21;
    const char *name = (const char *)(kinds + nargs);
    size_t name_len = len - 21 - nargs;
    if (f->nfns == FERRY__FFI_MAX_HANDLES)
        return ferry_call_fail(c, FERRY_E_INVALID, "ferry.ffi_prepare: all %u downcall handles are in use",
                               FERRY__FFI_MAX_HANDLES);
    if (!ferry__ffi_type(ret, true))
        return ferry_call_fail(c, FERRY_E_INVALID, "ferry.ffi_prepare: unknown return kind %u", ret);
    void *fn = (void *)(uintptr_t)address;
    if (address == 0) {
        /* By name: the engine's library and the libraries it depends on, then the global scope. */
        if (name_len == 0 || name_len > FERRY__FFI_NAME_MAX || memchr(name, '\0', name_len) != NULL)
            return ferry_call_fail(c, FERRY_E_INVALID, "ferry.ffi_prepare: no address and no valid symbol name");
        char sym[FERRY__FFI_NAME_MAX + 1];
        memcpy(sym, name, name_len);
        sym[name_len] = '\0';
        fn = f->engine->plugin ? dlsym(f->engine->plugin, sym) : NULL;
        if (!fn)
            fn = dlsym(RTLD_DEFAULT, sym);
        if (!fn)
            return ferry_call_fail(c, FERRY_E_NOT_FOUND, "unresolved symbol: %s (looked up in %s%s and the "
                                   "process's global scope)", sym, f->engine->plugin ? "the engine library " : "",
                                   f->engine->plugin ? f->engine->plugin_path : "no engine library");
    } else if (name_len != 0) {
        return ferry_call_fail(c, FERRY_E_INVALID, "ferry.ffi_prepare: both an address and a symbol name");
    }
    ferry__ffi_fn *h = calloc(1, sizeof(*h) + nargs * sizeof(ffi_type *));
    if (!h)
        return ferry_call_fail(c, FERRY_E_NOMEM, "out of memory for a downcall handle");
    for (uint32_t i = 0; i < nargs; i++) {
        h->types[i] = ferry__ffi_type(kinds[i], false);
        if (!h->types[i]) {
            free(h);
            return ferry_call_fail(c, FERRY_E_INVALID, "ferry.ffi_prepare: unknown kind %u of argument %u", kinds[i], i);
        }
    }
    if (ffi_prep_cif(&h->cif, FFI_DEFAULT_ABI, nargs, ferry__ffi_type(ret, true), nargs ? h->types : NULL) != FFI_OK) {
        free(h);
        return ferry_call_fail(c, FERRY_E_INVALID, "ffi_prep_cif refused the signature");
    }
    memcpy(&h->fn, &fn, sizeof(fn));
    h->nargs = nargs;
    h->ret = ret;
    if (f->nfns == f->fns_cap) {
        uint32_t cap = f->fns_cap ? f->fns_cap * 2 : 16;
        ferry__ffi_fn **fns = realloc(f->fns, (size_t)cap * sizeof(*fns));
        if (!fns) {
            free(h);
            return ferry_call_fail(c, FERRY_E_NOMEM, "out of memory for a downcall handle");
        }
        f->fns = fns;
        f->fns_cap = cap;
    }
    /* The tag: 43 random bits and a set top-but-one bit, so a token is never 0 and never negative. */
    uint64_t tag = (ferry__ffi_next(f) >> (FERRY__FFI_INDEX_BITS + 1)) | (UINT64_C(1) << (62 - FERRY__FFI_INDEX_BITS));
    h->token = tag << FERRY__FFI_INDEX_BITS | f->nfns;
    f->fns[f->nfns++] = h;
    ferry_call_set_i64(c, (int64_t)h->token);
    return 0;
}

/* ferry.ffi_channel: arg0 = the key -> the address of a new channel; its id is in its first 4 bytes. */
static int op_ffi_channel(ferry_call *c, void *data)
{
    ferry__ffi *f = data;
    if ((uint64_t)ferry_call_arg(c, 0) != f->key)
        return ferry_call_fail(c, FERRY_E_DENIED, "ferry.ffi_channel: wrong key");
    if (f->nchans == FERRY__FFI_MAX_CHANNELS)
        return ferry_call_fail(c, FERRY_E_INVALID, "ferry.ffi_channel: all %u channels are in use",
                               FERRY__FFI_MAX_CHANNELS);
    if (f->nchans == f->chans_cap) {
        uint32_t cap = f->chans_cap ? f->chans_cap * 2 : 16;
        unsigned char **chans = realloc(f->chans, (size_t)cap * sizeof(*chans));
        if (!chans)
            return ferry_call_fail(c, FERRY_E_NOMEM, "out of memory for a channel");
        f->chans = chans;
        f->chans_cap = cap;
    }
    /* Cache-line aligned, zeroed: a call of up to seven arguments touches one line. */
    unsigned char *p = aligned_alloc(64, (FERRY_FFI_CHANNEL_BYTES + 63u) & ~63u); /* a multiple of 64 (C11) */
    if (!p)
        return ferry_call_fail(c, FERRY_E_NOMEM, "out of memory for a channel");
    memset(p, 0, FERRY_FFI_CHANNEL_BYTES);
    uint32_t id = f->nchans++;
    f->chans[id] = p;
    memcpy(p, &id, 4);
    ferry_call_set_i64(c, (int64_t)(uintptr_t)p);
    return 0;
}

/* ferry.ffi_call: arg0 = the handle's token, arg1 = the argument (one) or a channel id (more) -> the
 * function's return value (its bits). */
static int op_ffi_call(ferry_call *c, void *data)
{
    ferry__ffi *f = data;
    uint64_t token = (uint64_t)ferry_call_arg(c, 0);
    uint64_t index = token & (FERRY__FFI_MAX_HANDLES - 1);
    if (f->forged >= FERRY__FFI_MAX_FORGED)
        return ferry_call_fail(c, FERRY_E_DENIED, "ferry.ffi_call: refused: this engine saw %u forged downcall "
                                                  "tokens", f->forged);
    if (index >= f->nfns || f->fns[index]->token != token) {
        f->forged++;
        return ferry_call_fail(c, FERRY_E_DENIED, "ferry.ffi_call: %#llx is not a downcall handle's token",
                               (unsigned long long)token);
    }
    const ferry__ffi_fn *h = f->fns[index];
    void *avalues[FERRY_FFI_MAX_ARGS];
    int64_t arg1 = ferry_call_arg(c, 1);
    if (h->nargs == 1) {
        avalues[0] = &arg1; /* the argument itself, in the low bytes (little-endian) */
    } else if (h->nargs) {
        int64_t cid = arg1;
        if (cid < 0 || cid >= (int64_t)f->nchans)
            return ferry_call_fail(c, FERRY_E_INVALID, "ferry.ffi_call: no channel %lld", (long long)cid);
        /* Argument i is at FERRY_FFI_CHANNEL_ARGS + 8 i, in its first bytes (little-endian: a narrow value
         * written as a sign-extended 64-bit one reads back as itself). */
        unsigned char *args = f->chans[cid] + FERRY_FFI_CHANNEL_ARGS;
        for (uint32_t i = 0; i < h->nargs; i++)
            avalues[i] = args + 8 * (size_t)i;
    }
    /* libffi widens an integer return narrower than a register to ffi_arg (sign- or zero-extended as
     * its type says); a float or double lands in the first bytes. */
    union {
        ffi_arg i;
        float f32;
        double f64;
        uint64_t bits;
    } rv;
    rv.bits = 0;
    ffi_call((ffi_cif *)&h->cif, h->fn, &rv, avalues);
    int64_t result;
    switch (h->ret) {
    case FERRY_FFI_VOID: result = 0; break;
    case FERRY_FFI_F32: {
        uint32_t b;
        memcpy(&b, &rv.f32, 4);
        result = b;
        break;
    }
    case FERRY_FFI_F64: memcpy(&result, &rv.f64, 8); break;
    default: result = (int64_t)rv.i; break;
    }
    ferry_call_set_i64(c, result);
    return 0;
}

static void ferry__ffi_free(void *data)
{
    ferry__ffi *f = data;
    for (uint32_t i = 0; i < f->nfns; i++)
        free(f->fns[i]);
    free(f->fns);
    free(f->chans); /* the table only: the channels' memory is the host's (ferry.h) */
    free(f);
}

int ferry__ffi_register(ferry_registry *reg, ferry_engine *e)
{
    ferry__ffi *f = calloc(1, sizeof(*f));
    if (!f)
        return ferry_registry_fail(reg, FERRY_E_NOMEM, "out of memory for the downcall registry");
    f->engine = e;
    f->key = ferry_ffi_key();
    f->rng = ferry__ffi_random();
    int rc = ferry_registry_on_close(reg, ferry__ffi_free, f);
    if (rc < 0) {
        free(f);
        return ferry_registry_fail(reg, rc, "cannot register the downcall registry's clean-up");
    }
    const uint32_t flags = FERRY_OP_SYSTEM | FERRY_OP_INTERNAL;
    if (ferry__register_op(reg, "ferry.ffi_prepare", op_ffi_prepare, f, flags | FERRY_OP_IN_BYTES) < 0 ||
        ferry__register_op(reg, "ferry.ffi_channel", op_ffi_channel, f, flags) < 0 ||
        ferry__register_op(reg, "ferry.ffi_call", op_ffi_call, f, flags) < 0)
        return ferry_registry_fail(reg, FERRY_E_INIT, "cannot register the downcall ops");
    return 0;
}
