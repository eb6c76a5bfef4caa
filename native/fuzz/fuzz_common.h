/* What the fuzz harnesses share: one engine started once per process (the SQLite plug-in or the test ops'
 * plug-in beside the harness, or no plug-in) and a bounded call, so a runaway input is cancelled through the
 * real give-up path instead of hanging the fuzzer. Built only by `make fuzz` (clang, libFuzzer). */
#ifndef FERRY_FUZZ_COMMON_H
#define FERRY_FUZZ_COMMON_H

#include "ring_client.h"

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The longest one fuzz input may keep the engine busy before its call gives up. */
#define FUZZ_CALL_TIMEOUT_NS INT64_C(2000000000)

static ring fuzz_ring;

/* Starts the engine, with the plug-in `plugin` (a file name beside the harness) or none. */
static inline void fuzz_start(const char *argv0, const char *plugin, const char *symbol)
{
    char path[PATH_MAX] = "";
    if (plugin) {
        char self[PATH_MAX];
        if (!realpath(argv0, self)) {
            perror("realpath");
            abort();
        }
        snprintf(path, sizeof path, "%s/%s", dirname(self), plugin);
    }
    char err[512] = "";
    if (ring_start(&fuzz_ring, 64, 0, plugin ? path : NULL, symbol, NULL, err, sizeof err) != 0) {
        fprintf(stderr, "fuzz: the engine did not start: %s\n", err);
        abort();
    }
}

static inline int32_t fuzz_op(const char *name)
{
    int32_t id = ring_op(&fuzz_ring, name);
    if (id < 0) {
        fprintf(stderr, "fuzz: no op %s\n", name);
        abort();
    }
    return id;
}

/* One call; a protocol failure (the ring hung) is a finding, so it aborts. */
static inline void fuzz_call(const ring_req *q)
{
    ring_res res = { 0 };
    int rc = ring_call_timed(&fuzz_ring, q, &res, FUZZ_CALL_TIMEOUT_NS);
    if (rc == RING_HUNG || rc == RING_CLOSED) {
        fprintf(stderr, "fuzz: the call did not end (%d)\n", rc);
        abort();
    }
    ring_res_free(&res);
}

static inline int64_t fuzz_i64(const uint8_t **data, size_t *size)
{
    int64_t v = 0;
    size_t n = *size < 8 ? *size : 8;
    memcpy(&v, *data, n);
    *data += n;
    *size -= n;
    return v;
}

#endif /* FERRY_FUZZ_COMMON_H */
