/*
 * test_errors.c: how calls and engine starts fail, the test ops' edges, the example engine, and the
 * small pure functions (layout table, region size, op lookup). The engines load the test ops' plug-in
 * (native/testops, FT_TESTOPS_LIB) unless a test says otherwise.
 *
 *   layout              every ferry_layout() entry matches offsetof/sizeof of the structs in ferry.h
 *   region_size         powers of two 1..2^24 only
 *   start_invalid       bad region, alignment, capacity, idle_spin_ns: FERRY_E_INVALID and a message
 *   start_bad_plugin    a missing or non-library plugin: FERRY_E_LOAD, the message names the path
 *   op_lookup           the system ops' and test ops' ids and flags; unknown names give FERRY_E_UNKNOWN_OP
 *   no_test_ops         an engine without a plug-in has the system ops only: no test op (they were
 *                       built into libferry once), and the id after the system ops is unknown
 *   unknown_op          op ids outside the table fail the call with FERRY_E_UNKNOWN_OP and a message
 *   missing_input       an IN_BYTES op called without input fails with a clear message
 *   fail_op             `fail` delivers its code and message; code 0 is refused
 *   test_op_edges       echo_bytes of 0 bytes and of 10 MB, checksum, add overflow, add_f64, spin < 0,
 *                       order out of sequence, HAS_INPUT with a null pointer
 *   engine_nice         ferry_engine_set_nice moves the engine thread's nice value and no other
 *                       thread's; out of range is FERRY_E_INVALID; lowering it without CAP_SYS_NICE
 *                       (a child that dropped root) is FERRY_E_PERMISSION with a message naming it
 *   hardening           counter refuses a signed overflow (EOVERFLOW, counter unchanged: UBSan saw the
 *                       old add overflow); var_add refuses a name with a NUL byte instead of cutting it
 *   example_engine      build/native/libferry_example.so: its ops and no test op, a missing init
 *                       symbol, and the failing init (skipped with exit 77 at the end if the library is not built)
 */
#include "ferry_test.h"
#include "ring_client.h"

#include <errno.h>
#include <sched.h>
#include <math.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>

#define EXAMPLE_LIB "build/native/libferry_example.so"

/* Starts an engine on the plug-in (NULL: the test ops' plug-in). */
static void start(ring *r, uint32_t capacity, const char *plugin, const char *symbol)
{
    if (!plugin) {
        plugin = ft_testops();
        symbol = FT_TESTOPS_INIT;
    }
    char err[512] = "";
    int rc = ring_start(r, capacity, 1000000, plugin, symbol, NULL, err, sizeof err);
    CHECK(rc == 0, "ferry_engine_start(%s): %d %s", plugin, rc, err);
    r->hang_ns = ft_hang_ns();
}

static void stop(ring *r)
{
    CHECK(ring_stop(r, ft_hang_ns()) == 0, "the engine did not stop");
}

static int32_t op(ring *r, const char *name)
{
    int32_t id = ring_op(r, name);
    CHECK(id >= 0, "no op %s (%d)", name, id);
    return id;
}

static void call(ring *r, const ring_req *q, ring_res *res, const char *what)
{
    int rc = ring_call(r, q, res);
    CHECK(rc == RING_OK, "%s: the call did not complete (%d)", what, rc);
}

/* Checks a failed call: its code, an ERROR output holding a NUL-terminated message of out_len bytes
 * that contains each of the given fragments. */
static void check_error(const ring_res *res, int32_t code, const char *what, const char *frag1, const char *frag2)
{
    CHECK(res->err == code, "%s: err %d, expected %d (message: %s)", what, res->err, code,
          res->out ? res->out : "(none)");
    CHECK(res->out_kind == FERRY_OUT_ERROR, "%s: out_kind %u, expected FERRY_OUT_ERROR", what, res->out_kind);
    CHECK(res->out != NULL, "%s: no error message", what);
    CHECK(strlen(res->out) == res->out_len, "%s: message of %zu chars but out_len %llu", what, strlen(res->out),
          (unsigned long long)res->out_len);
    CHECK(!frag1 || strstr(res->out, frag1), "%s: message '%s' lacks '%s'", what, res->out, frag1);
    CHECK(!frag2 || strstr(res->out, frag2), "%s: message '%s' lacks '%s'", what, res->out, frag2);
}

static void check_ok(const ring_res *res, const char *what)
{
    CHECK(res->err == 0, "%s: err %d (%s)", what, res->err, res->out ? res->out : "no message");
}

/* ---- layout and pure functions ------------------------------------------------------------------ */

typedef struct expect_entry {
    const char *name;
    uint32_t offset, size;
} expect_entry;

#define F(prefix, type, field) { prefix #field, (uint32_t)offsetof(type, field), (uint32_t)sizeof(((type *)0)->field) }

static void test_layout(void)
{
    ft_test_name = "layout";
    const expect_entry want[] = {
        { "region.header", (uint32_t)offsetof(ferry_region, header), sizeof(ferry_header) },
        { "region.tail", (uint32_t)offsetof(ferry_region, tail), sizeof(ferry_tail_block) },
        { "region.engine", (uint32_t)offsetof(ferry_region, engine), sizeof(ferry_engine_block) },
        { "region.stats", (uint32_t)offsetof(ferry_region, stats), sizeof(ferry_stats_block) },
        { "region.slots", (uint32_t)offsetof(ferry_region, slots), sizeof(ferry_slot) },
        F("header.", ferry_header, magic),
        F("header.", ferry_header, version),
        F("header.", ferry_header, capacity),
        F("header.", ferry_header, slot_size),
        F("header.", ferry_header, region_size),
        F("tail.", ferry_tail_block, tail),
        F("engine.", ferry_engine_block, sleeping),
        F("engine.", ferry_engine_block, state),
        F("stats.", ferry_stats_block, head),
        F("stats.", ferry_stats_block, completed),
        F("stats.", ferry_stats_block, started),
        F("stats.", ferry_stats_block, call_ns),
        F("slot.", ferry_slot, state),
        F("slot.", ferry_slot, op),
        F("slot.", ferry_slot, flags),
        F("slot.", ferry_slot, ctx),
        F("slot.", ferry_slot, arg0),
        F("slot.", ferry_slot, arg1),
        F("slot.", ferry_slot, cell),
        F("slot.", ferry_slot, in_ptr),
        F("slot.", ferry_slot, in_len),
        F("cell.", ferry_cell, state),
        F("cell.", ferry_cell, result),
        F("cell.", ferry_cell, err),
        F("cell.", ferry_cell, out_kind),
        F("cell.", ferry_cell, out_ptr),
        F("cell.", ferry_cell, out_len),
        F("cell.", ferry_cell, err_out_len),
        F("cell.", ferry_cell, id),
        F("batch_item.", ferry_batch_item, arg0),
        F("batch_item.", ferry_batch_item, arg1),
        F("batch_item.", ferry_batch_item, result),
        F("batch_item.", ferry_batch_item, err),
        { "const.batch_item_size", (uint32_t)sizeof(ferry_batch_item), 0 },
        { "const.call_batch", FERRY_CALL_BATCH, 0 },
        { "const.slot_size", FERRY_SLOT_SIZE, 0 },
        { "const.cell_size", FERRY_CELL_SIZE, 0 },
        { "const.wake_slot", FERRY_WAKE_SLOT, 0 },
        { "const.seq_shift", FERRY_SEQ_SHIFT, 0 },
        { "const.flag_parked", (uint32_t)FERRY_FLAG_PARKED, 0 },
        { "const.flag_gone", (uint32_t)FERRY_FLAG_GONE, 0 },
        { "const.flag_free_wake", (uint32_t)FERRY_FLAG_FREE_WAKE, 0 },
        { "const.phase_published", (uint32_t)FERRY_PHASE_PUBLISHED, 0 },
        { "const.phase_done", (uint32_t)FERRY_PHASE_DONE, 0 },
        { "const.engine_stopped", FERRY_ENGINE_STOPPED, 0 },
        { "const.call_has_input", FERRY_CALL_HAS_INPUT, 0 },
        { "const.out_bytes", FERRY_OUT_BYTES, 0 },
        { "const.out_error", FERRY_OUT_ERROR, 0 },
        { "const.system_context_generation", (uint32_t)(FERRY_SYSTEM_CONTEXT >> 32), 0 },
    { "const.block", FERRY_BLOCK, 0 },
    { "const.magic_lo", (uint32_t)FERRY_MAGIC, 0 },
    { "const.magic_hi", (uint32_t)(FERRY_MAGIC >> 32), 0 },
    { "const.version", FERRY_VERSION, 0 },
    { "const.tail_closed_bit", 63, 0 },
    { "const.phase_mask", (uint32_t)FERRY_PHASE_MASK, 0 },
    { "const.phase_free", (uint32_t)FERRY_PHASE_FREE, 0 },
    { "const.engine_starting", FERRY_ENGINE_STARTING, 0 },
    { "const.engine_running", FERRY_ENGINE_RUNNING, 0 },
    { "const.engine_draining", FERRY_ENGINE_DRAINING, 0 },
    { "const.out_none", FERRY_OUT_NONE, 0 },
    { "const.op_abort", (uint32_t)FERRY_OP_ABORT, 0 },
    { "const.op_in_bytes", FERRY_OP_IN_BYTES, 0 },
    { "const.op_out_bytes", FERRY_OP_OUT_BYTES, 0 },
    { "const.op_f64", FERRY_OP_F64, 0 },
    { "const.op_mutates", FERRY_OP_MUTATES, 0 },
    { "const.op_text", FERRY_OP_TEXT, 0 },
    { "const.op_system", FERRY_OP_SYSTEM, 0 },
    { "const.op_internal", FERRY_OP_INTERNAL, 0 },
    { "const.e_invalid", (uint32_t)FERRY_E_INVALID, 0 },
    { "const.e_nomem", (uint32_t)FERRY_E_NOMEM, 0 },
    { "const.e_init", (uint32_t)FERRY_E_INIT, 0 },
    { "const.e_load", (uint32_t)FERRY_E_LOAD, 0 },
    { "const.e_thread", (uint32_t)FERRY_E_THREAD, 0 },
    { "const.e_timedout", (uint32_t)FERRY_E_TIMEDOUT, 0 },
    { "const.e_exists", (uint32_t)FERRY_E_EXISTS, 0 },
    { "const.e_unknown_op", (uint32_t)FERRY_E_UNKNOWN_OP, 0 },
    { "const.e_closed", (uint32_t)FERRY_E_CLOSED, 0 },
    { "const.e_context", (uint32_t)FERRY_E_CONTEXT, 0 },
    { "const.e_denied", (uint32_t)FERRY_E_DENIED, 0 },
    { "const.e_not_found", (uint32_t)FERRY_E_NOT_FOUND, 0 },
    { "const.e_frozen", (uint32_t)FERRY_E_FROZEN, 0 },
    { "const.e_permission", (uint32_t)FERRY_E_PERMISSION, 0 },
    { "const.ctx_read_only", FERRY_CTX_READ_ONLY, 0 },
    { "const.ctx_open_private", FERRY_CTX_OPEN_PRIVATE, 0 },
    { "const.var_i64", FERRY_VAR_I64, 0 },
    { "const.var_f64", FERRY_VAR_F64, 0 },
    { "const.var_string", FERRY_VAR_STRING, 0 },
    { "const.var_bytes", FERRY_VAR_BYTES, 0 },
    { "const.no_op_set", FERRY_NO_OP_SET, 0 },
    { "const.wake_hello", FERRY_WAKE_HELLO, 0 },
    };
    const size_t nwant = sizeof want / sizeof want[0];
    const ferry_layout_entry *e = NULL;
    int32_t n = ferry_layout(&e);
    CHECK(e != NULL && n > 0, "ferry_layout returned %d entries", n);
    CHECK(ferry_layout(NULL) == n, "ferry_layout(NULL) returned another count");
    CHECK((size_t)n == nwant, "ferry_layout has %d entries, this test knows %zu", n, nwant);
    for (int32_t i = 0; i < n; i++) {
        CHECK(e[i].name && *e[i].name, "entry %d has no name", i);
        for (int32_t j = 0; j < i; j++)
            CHECK(strcmp(e[i].name, e[j].name) != 0, "entry %s appears twice", e[i].name);
        size_t k = 0;
        while (k < nwant && strcmp(want[k].name, e[i].name) != 0)
            k++;
        CHECK(k < nwant, "unknown layout entry %s", e[i].name);
        CHECK(e[i].offset == want[k].offset && e[i].size == want[k].size,
              "layout %s: offset %u size %u, but the struct says offset %u size %u", e[i].name, e[i].offset,
              e[i].size, want[k].offset, want[k].size);
        /* Every field lies inside its block (a slot field inside one slot). */
        if (strncmp(e[i].name, "slot.", 5) == 0)
            CHECK(e[i].offset + e[i].size <= FERRY_SLOT_SIZE, "%s leaves the slot", e[i].name);
        if (strncmp(e[i].name, "cell.", 5) == 0)
            CHECK(e[i].offset + e[i].size <= 64, "%s leaves the cell's first cache line", e[i].name);
    }
    /* The documented numbers in ferry.h. */
    CHECK(FERRY_OFF_HEADER == offsetof(ferry_region, header) && FERRY_OFF_TAIL == offsetof(ferry_region, tail) &&
              FERRY_OFF_ENGINE == offsetof(ferry_region, engine) && FERRY_OFF_STATS == offsetof(ferry_region, stats) &&
              FERRY_OFF_SLOTS == offsetof(ferry_region, slots) && sizeof(ferry_slot) == FERRY_SLOT_SIZE,
          "FERRY_OFF_* disagree with struct ferry_region");
    /* Each block is one FERRY_BLOCK, so no hot word shares a block with another. */
    CHECK(sizeof(ferry_header) == FERRY_BLOCK && sizeof(ferry_tail_block) == FERRY_BLOCK &&
              sizeof(ferry_engine_block) == FERRY_BLOCK && sizeof(ferry_stats_block) == FERRY_BLOCK,
          "a region block is not FERRY_BLOCK bytes");
    CHECK(offsetof(ferry_slot, cell) == 40 && offsetof(ferry_slot, in_ptr) == 48 && offsetof(ferry_slot, in_len) == 56 &&
              offsetof(ferry_cell, result) == 8 && offsetof(ferry_cell, err) == 16 && offsetof(ferry_cell, id) == 48 &&
              sizeof(ferry_cell) == FERRY_CELL_SIZE,
          "slot and cell field offsets differ from the tables in ferry.h");
    CHECK(offsetof(ferry_stats_block, head) == 0 && offsetof(ferry_stats_block, completed) == 8 &&
              offsetof(ferry_stats_block, started) == 16,
          "stats field offsets differ from ferry.h (Java's Layout.STATS_* hard-code them)");
    /* The protocol's numbers (version 3: completion cells): phases FREE, PUBLISHED, DONE, and the flags
     * above the phase bits. */
    CHECK(FERRY_VERSION == 3u, "FERRY_VERSION %u: the completion-cell protocol is version 3", FERRY_VERSION);
    CHECK(FERRY_PHASE_FREE == 0 && FERRY_PHASE_PUBLISHED == 1 && FERRY_PHASE_DONE == 3 && FERRY_PHASE_MASK == 3,
          "phase numbers differ from ferry.h");
    CHECK(FERRY_FLAG_PARKED == 0x10 && FERRY_FLAG_GONE == 0x20, "flag bits differ from ferry.h");
}

static void test_region_size(void)
{
    ft_test_name = "region_size";
    const uint32_t bad[] = { 0, 3, 5, 6, 7, 12, 100, 1000, 65535, 65537, (1u << 24) + 1, 1u << 25, 1u << 31,
                             UINT32_MAX, (1u << 24) - 1 };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        CHECK(ferry_region_size(bad[i]) == 0, "ferry_region_size(%u) = %llu, expected 0", bad[i],
              (unsigned long long)ferry_region_size(bad[i]));
    for (uint32_t cap = 1; cap <= (1u << 24); cap <<= 1)
        CHECK(ferry_region_size(cap) == FERRY_OFF_SLOTS + (uint64_t)cap * FERRY_SLOT_SIZE,
              "ferry_region_size(%u) = %llu", cap, (unsigned long long)ferry_region_size(cap));
}

static void test_start_invalid(void)
{
    ft_test_name = "start_invalid";
    uint64_t size = ferry_region_size(4);
    unsigned char *mem = aligned_alloc(FERRY_BLOCK, (size_t)size + FERRY_BLOCK);
    CHECK(mem != NULL, "aligned_alloc");
    struct {
        void *region;
        uint32_t cap;
        int64_t idle;
        const char *what;
    } cases[] = {
        { NULL, 4, 0, "null region" },
        { mem + 64, 4, 0, "region aligned to 64 only" },
        { mem + 8, 4, 0, "region aligned to 8 only" },
        { mem, 0, 0, "capacity 0" },
        { mem, 3, 0, "capacity 3" },
        { mem, 1u << 25, 0, "capacity 2^25" },
        { mem, 4, -1, "negative idle_spin_ns" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char err[256] = "";
        ferry_engine *e = (ferry_engine *)(uintptr_t)1;
        int rc = ferry_engine_start(cases[i].region, cases[i].cap, cases[i].idle, NULL, NULL, NULL, NULL, &e, err, sizeof err);
        CHECK(rc == FERRY_E_INVALID, "%s: ferry_engine_start returned %d", cases[i].what, rc);
        CHECK(e == NULL, "%s: *out not cleared on failure", cases[i].what);
        CHECK(err[0] != '\0', "%s: no message", cases[i].what);
    }
    char err[256] = "";
    CHECK(ferry_engine_start(mem, 4, 0, NULL, NULL, NULL, NULL, NULL, err, sizeof err) == FERRY_E_INVALID,
          "a null out pointer was accepted");
    /* A tiny message buffer is cut, not overrun (ASan watches). */
    char tiny[8];
    memset(tiny, 'z', sizeof tiny);
    ferry_engine *e = NULL;
    CHECK(ferry_engine_start(NULL, 4, 0, NULL, NULL, NULL, NULL, &e, tiny, 4) == FERRY_E_INVALID, "null region");
    CHECK(memchr(tiny, '\0', 4) != NULL && tiny[4] == 'z', "the message overran a 4-byte buffer");
    free(mem);
}

static void test_start_bad_plugin(void)
{
    ft_test_name = "start_bad_plugin";
    const char *paths[] = { "/nonexistent/ferry-test/libmissing.so", "Makefile", "native/include/ferry.h" };
    for (size_t i = 0; i < sizeof paths / sizeof paths[0]; i++) {
        ring r;
        char err[512] = "";
        int rc = ring_start(&r, 4, 0, paths[i], "ferry_engine_init", NULL, err, sizeof err);
        CHECK(rc == FERRY_E_LOAD, "plugin %s: start returned %d (%s), expected FERRY_E_LOAD", paths[i], rc, err);
        CHECK(r.engine == NULL, "plugin %s: engine handed out after a failed start", paths[i]);
        CHECK(strstr(err, paths[i]) != NULL, "plugin %s: the message does not name the path: '%s'", paths[i], err);
    }
}

static void test_op_lookup(void)
{
    ft_test_name = "op_lookup";
    ring r;
    start(&r, 4, NULL, NULL);
    struct {
        const char *name;
        uint32_t flags;
    } ops[] = {
        { "ferry.ctx_create", FERRY_OP_SYSTEM | FERRY_OP_INTERNAL | FERRY_OP_IN_BYTES },
        { "ferry.ctx_close", FERRY_OP_SYSTEM | FERRY_OP_INTERNAL },
        { "ferry.var_set", FERRY_OP_SYSTEM | FERRY_OP_INTERNAL | FERRY_OP_IN_BYTES },
        { "ferry.var_get", FERRY_OP_SYSTEM | FERRY_OP_INTERNAL | FERRY_OP_IN_BYTES | FERRY_OP_OUT_BYTES },
        { "ferry.var_unset", FERRY_OP_SYSTEM | FERRY_OP_INTERNAL | FERRY_OP_IN_BYTES },
        /* issue 12 (ffi helper): the downcall ops */
        { "ferry.ffi_prepare", FERRY_OP_SYSTEM | FERRY_OP_INTERNAL | FERRY_OP_IN_BYTES },
        { "ferry.ffi_channel", FERRY_OP_SYSTEM | FERRY_OP_INTERNAL },
        { "ferry.ffi_call", FERRY_OP_SYSTEM | FERRY_OP_INTERNAL },
        { "ferry.task", FERRY_OP_SYSTEM | FERRY_OP_INTERNAL }, /* issue 12: Java tasks */
        { "noop", 0 },
        { "add", 0 },
        { "echo", 0 },
        { "add_f64", FERRY_OP_F64 },
        { "echo_bytes", FERRY_OP_IN_BYTES | FERRY_OP_OUT_BYTES },
        { "echo_string", FERRY_OP_IN_BYTES | FERRY_OP_OUT_BYTES | FERRY_OP_TEXT },
        { "checksum", FERRY_OP_IN_BYTES },
        { "spin", 0 },
        { "fail", FERRY_OP_IN_BYTES | FERRY_OP_TEXT },
        { "order", FERRY_OP_MUTATES },
        { "var_add", FERRY_OP_IN_BYTES },
        { "counter", FERRY_OP_MUTATES },
    };
    const int nb = (int)(sizeof ops / sizeof ops[0]);
    int32_t ids[32];
    for (int i = 0; i < nb; i++) {
        uint32_t flags = 0xdeadu;
        ids[i] = ferry_op_lookup(r.engine, ops[i].name, &flags);
        CHECK(ids[i] >= 0 && ids[i] < nb, "op %s has id %d", ops[i].name, ids[i]);
        CHECK(flags == ops[i].flags, "op %s has flags %#x, expected %#x", ops[i].name, flags,
              ops[i].flags);
        CHECK(ferry_op_lookup(r.engine, ops[i].name, NULL) == ids[i], "lookup without flags differs");
        for (int j = 0; j < i; j++)
            CHECK(ids[i] != ids[j], "ops %s and %s share id %d", ops[i].name, ops[j].name, ids[i]);
    }
    uint32_t flags = 0x1234;
    const char *unknown[] = { "nope", "", "ADD", "add ", "example.greet", "noop\n" };
    for (size_t i = 0; i < sizeof unknown / sizeof unknown[0]; i++)
        CHECK(ferry_op_lookup(r.engine, unknown[i], &flags) == FERRY_E_UNKNOWN_OP, "lookup of '%s' did not fail",
              unknown[i]);
    CHECK(flags == 0x1234, "a failed lookup wrote the flags");
    CHECK(ferry_op_lookup(r.engine, NULL, NULL) == FERRY_E_INVALID, "lookup of NULL");
    CHECK(ferry_op_lookup(NULL, "add", NULL) == FERRY_E_INVALID, "lookup on a NULL engine");
    stop(&r);
}

/* An engine started without a plug-in: the five system ops and nothing else. The test ops were once
 * built into libferry and registered into every engine (SQLite's and users' too). */
static void test_no_test_ops(void)
{
    ft_test_name = "no_test_ops";
    ring r;
    char err[512] = "";
    int rc = ring_start(&r, 4, 1000000, NULL, NULL, NULL, err, sizeof err);
    CHECK(rc == 0, "ferry_engine_start without a plug-in: %d %s", rc, err);
    r.hang_ns = ft_hang_ns();
    for (int i = 0; i < FT_TEST_OPS; i++) {
        int32_t id = ferry_op_lookup(r.engine, ft_test_op_names[i], NULL);
        CHECK(id == FERRY_E_UNKNOWN_OP, "an engine without a plug-in has the test op %s (id %d)", ft_test_op_names[i],
              id);
    }
    /* issue 12: the three downcall ops, then "ferry.task" (Java tasks), follow the context ops, so the
     * first unknown id is 9. */
    const char *sys[] = { "ferry.ctx_create", "ferry.ctx_close", "ferry.var_set", "ferry.var_get", "ferry.var_unset",
                          "ferry.ffi_prepare", "ferry.ffi_channel", "ferry.ffi_call", "ferry.task" };
    for (int i = 0; i < 9; i++)
        CHECK(ferry_op_lookup(r.engine, sys[i], NULL) == i, "system op %s is not id %d", sys[i], i);
    ring_req q = { .op = 9, .arg0 = 1, .arg1 = 2 };
    ring_res res;
    call(&r, &q, &res, "op 9");
    check_error(&res, FERRY_E_UNKNOWN_OP, "op 9 on an engine without a plug-in", NULL, NULL);
    ring_res_free(&res);
    stop(&r);
}

/* ---- failing calls ------------------------------------------------------------------------------ */

static void test_unknown_op(void)
{
    ft_test_name = "unknown_op";
    ring r;
    start(&r, 4, NULL, NULL);
    /* The system ops and test ops are exactly ids 0..20 (op_lookup checks that; issue 12: three downcall
     * ops and ferry.task), so 21 is the first id past the table. */
    const int32_t bad[] = { 1000, 21, INT32_MAX, -2, -7, INT32_MIN };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        ring_req q = { .op = bad[i], .arg0 = 1, .arg1 = 2 };
        ring_res res;
        call(&r, &q, &res, "unknown op");
        char id[32];
        snprintf(id, sizeof id, "%d", bad[i]);
        check_error(&res, FERRY_E_UNKNOWN_OP, "unknown op id", "unknown op", id);
        ring_res_free(&res);
    }
    /* With input: the engine still frees it (ASan's leak check). */
    ring_req q = { .op = 4242, .has_input = true, .in = "abc", .in_len = 3 };
    ring_res res;
    call(&r, &q, &res, "unknown op with input");
    check_error(&res, FERRY_E_UNKNOWN_OP, "unknown op with input", "4242", NULL);
    ring_res_free(&res);
    /* The engine carries on. */
    CHECK(ring_call2(&r, op(&r, "add"), 2, 3, &res) == RING_OK && res.err == 0 && res.result == 5,
          "add after unknown ops");
    stop(&r);
}

static void test_missing_input(void)
{
    ft_test_name = "missing_input";
    ring r;
    start(&r, 4, NULL, NULL);
    const char *ops[] = { "echo_bytes", "echo_string", "checksum", "fail" };
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++) {
        ring_req q = { .op = op(&r, ops[i]), .arg0 = 7 };
        ring_res res;
        call(&r, &q, &res, ops[i]);
        check_error(&res, FERRY_E_INVALID, ops[i], ops[i], "input");
        ring_res_free(&res);
    }
    stop(&r);
}

static void test_fail_op(void)
{
    ft_test_name = "fail_op";
    ring r;
    start(&r, 4, NULL, NULL);
    int32_t op_fail = op(&r, "fail");
    ring_res res;
    CHECK(ring_call_bytes(&r, op_fail, 7, "boom", 4, &res) == RING_OK, "fail call");
    check_error(&res, 7, "fail(7, boom)", NULL, NULL);
    CHECK(strcmp(res.out, "boom") == 0 && res.out_len == 4, "fail(7, boom) gave message '%s' (%llu bytes)", res.out,
          (unsigned long long)res.out_len);
    ring_res_free(&res);

    CHECK(ring_call_bytes(&r, op_fail, -12345, "negative code", 13, &res) == RING_OK, "fail call");
    check_error(&res, -12345, "fail(-12345)", NULL, NULL);
    CHECK(strcmp(res.out, "negative code") == 0, "message '%s'", res.out);
    ring_res_free(&res);

    CHECK(ring_call_bytes(&r, op_fail, 9, "", 0, &res) == RING_OK, "fail call");
    check_error(&res, 9, "fail(9, empty)", NULL, NULL);
    CHECK(res.out_len == 0, "an empty message came back as '%s'", res.out);
    ring_res_free(&res);

    CHECK(ring_call_bytes(&r, op_fail, 0, "zero", 4, &res) == RING_OK, "fail call");
    check_error(&res, EINVAL, "fail(0)", "code", NULL);
    ring_res_free(&res);

    CHECK(ring_call_bytes(&r, op_fail, INT64_C(1) << 40, "big", 3, &res) == RING_OK, "fail call");
    check_error(&res, EINVAL, "fail(2^40)", "code", NULL);
    ring_res_free(&res);

    /* A long message arrives whole. */
    size_t big = 20000;
    char *msg = malloc(big);
    CHECK(msg != NULL, "malloc");
    memset(msg, 'm', big);
    CHECK(ring_call_bytes(&r, op_fail, 3, msg, big, &res) == RING_OK, "fail call");
    check_error(&res, 3, "fail(3, long)", NULL, NULL);
    CHECK(res.out_len == big && strspn(res.out, "m") == res.out_len,
          "a 20000-byte message came back as %llu bytes", (unsigned long long)res.out_len);
    ring_res_free(&res);
    free(msg);

    /* Issue 11, defect 12: 100 KB of multi-byte UTF-8 with a three-byte character across byte 511 (a
     * 512-byte buffer cut there) arrives whole, every byte as sent. */
    big = 100 * 1024;
    msg = malloc(big);
    CHECK(msg != NULL, "malloc");
    for (size_t i = 0; i < big; i++)
        msg[i] = (char)('a' + i % 26);
    for (size_t at = 0; at + 3 <= big; at += 3 * 509) /* U+20AC, the euro sign, at 0, 1527, ... */
        memcpy(msg + at, "\xe2\x82\xac", 3);
    memcpy(msg + 510, "\xe2\x82\xac", 3); /* bytes 510..512: a cut at 511 would split it */
    CHECK(ring_call_bytes(&r, op_fail, 5, msg, big, &res) == RING_OK, "fail call");
    check_error(&res, 5, "fail(5, 100 KB UTF-8)", NULL, NULL);
    CHECK(res.out_len == big && memcmp(res.out, msg, big) == 0, "a %zu-byte message came back as %llu bytes",
          big, (unsigned long long)res.out_len);
    CHECK(res.err_out_len == 0, "a failure without output came back with %llu output bytes",
          (unsigned long long)res.err_out_len);
    ring_res_free(&res);

    /* Defect 12: what an op wrote before it failed travels with the failure (fail writes the input
     * after its first NUL as output, then fails with the part before). */
    static const char with_out[] = "disk on fire\0partial\x01\x02";
    CHECK(ring_call_bytes(&r, op_fail, 6, with_out, sizeof with_out - 1, &res) == RING_OK, "fail call");
    check_error(&res, 6, "fail(6, message + output)", "disk on fire", NULL);
    CHECK(res.out_len == 12, "message of %llu bytes, expected 12", (unsigned long long)res.out_len);
    CHECK(res.err_out_len == 9 && res.err_out && memcmp(res.err_out, "partial\x01\x02", 9) == 0,
          "the output written before the failure came back as %llu bytes", (unsigned long long)res.err_out_len);
    ring_res_free(&res);
    free(msg);
    stop(&r);
}

/* ---- test op edges -------------------------------------------------------------------------- */

static uint64_t fnv1a(const unsigned char *p, size_t n)
{
    uint64_t h = UINT64_C(0xcbf29ce484222325);
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= UINT64_C(0x100000001b3);
    }
    return h;
}

static int64_t f64_bits(double d)
{
    int64_t b;
    memcpy(&b, &d, sizeof b);
    return b;
}

/* Issue 14, item 5: counter's add was signed (undefined on overflow: UBSan aborts the asan build, the
 * plain build wrapped to INT64_MIN); var_add copied a name with a NUL byte and looked up the name cut at
 * the NUL, so "x\0y" read x. */
static void test_hardening(void)
{
    ft_test_name = "hardening";
    ring r;
    start(&r, 4, NULL, NULL);
    int32_t counter = op(&r, "counter"), var_add = op(&r, "var_add"), var_set = op(&r, "ferry.var_set");
    ring_res res;
    CHECK(ring_call2(&r, counter, INT64_MAX, 0, &res) == RING_OK, "counter(INT64_MAX)");
    check_ok(&res, "counter(INT64_MAX)");
    CHECK_EQ_I64(res.result, INT64_MAX, "counter(INT64_MAX)");
    CHECK(ring_call2(&r, counter, 1, 0, &res) == RING_OK, "counter(1) at INT64_MAX");
    check_error(&res, EOVERFLOW, "counter(1) at INT64_MAX", "counter", "overflows");
    ring_res_free(&res);
    CHECK(ring_call2(&r, counter, 0, 0, &res) == RING_OK, "counter(0)");
    CHECK_EQ_I64(res.result, INT64_MAX, "the counter after the refused add");
    CHECK(ring_call2(&r, counter, INT64_MIN, 0, &res) == RING_OK, "counter(INT64_MIN)");
    CHECK_EQ_I64(res.result, -1, "INT64_MAX + INT64_MIN");
    CHECK(ring_call2(&r, counter, INT64_MIN, 0, &res) == RING_OK, "counter(INT64_MIN) at -1");
    check_error(&res, EOVERFLOW, "counter(INT64_MIN) at -1", "overflows", NULL);
    ring_res_free(&res);

    /* x = 40 in the systemic context; var_add(2, "x\0y") must not read x. */
    unsigned char in[5] = { 1, 0, 0, 0, 'x' };
    ring_req q = { .op = var_set, .arg0 = FERRY_VAR_I64, .arg1 = 40, .has_input = true, .in = in, .in_len = 5 };
    call(&r, &q, &res, "var_set x");
    check_ok(&res, "var_set x");
    CHECK(ring_call_bytes(&r, var_add, 2, "x", 1, &res) == RING_OK, "var_add x");
    check_ok(&res, "var_add x");
    CHECK_EQ_I64(res.result, 42, "var_add(2, x)");
    CHECK(ring_call_bytes(&r, var_add, 2, "x\0y", 3, &res) == RING_OK, "var_add x\\0y");
    check_error(&res, EINVAL, "var_add(2, \"x\\0y\")", "NUL", "index 1");
    ring_res_free(&res);
    stop(&r);
}

static void test_test_op_edges(void)
{
    ft_test_name = "test_op_edges";
    ring r;
    start(&r, 4, NULL, NULL);
    int32_t op_echo_bytes = op(&r, "echo_bytes");
    ring_res res;

    /* echo_bytes of nothing: an empty BYTES output, not an error or NONE. */
    CHECK(ring_call_bytes(&r, op_echo_bytes, 0, "", 0, &res) == RING_OK, "echo_bytes(0)");
    check_ok(&res, "echo_bytes(0)");
    CHECK(res.out_kind == FERRY_OUT_BYTES && res.out_len == 0, "echo_bytes(0): kind %u, %llu bytes", res.out_kind,
          (unsigned long long)res.out_len);
    ring_res_free(&res);

    /* 10 MB, every byte checked. */
    size_t n = (size_t)10 << 20;
    unsigned char *big = malloc(n);
    CHECK(big != NULL, "malloc");
    uint64_t x = 88172645463325252ull;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        big[i] = (unsigned char)x;
    }
    CHECK(ring_call_bytes(&r, op_echo_bytes, 0, big, n, &res) == RING_OK, "echo_bytes(10 MB)");
    check_ok(&res, "echo_bytes(10 MB)");
    CHECK(res.out_kind == FERRY_OUT_BYTES && res.out_len == n, "echo_bytes(10 MB): kind %u, %llu bytes", res.out_kind,
          (unsigned long long)res.out_len);
    CHECK(memcmp(res.out, big, n) == 0, "echo_bytes(10 MB) changed the bytes");
    ring_res_free(&res);

    int32_t op_checksum = op(&r, "checksum");
    CHECK(ring_call_bytes(&r, op_checksum, 0, big, n, &res) == RING_OK, "checksum(10 MB)");
    check_ok(&res, "checksum");
    CHECK((uint64_t)res.result == fnv1a(big, n), "checksum of 10 MB: %#llx, expected %#llx",
          (unsigned long long)res.result, (unsigned long long)fnv1a(big, n));
    CHECK(res.out_kind == FERRY_OUT_NONE && res.out == NULL, "checksum returned output");
    ring_res_free(&res);
    free(big);
    CHECK(ring_call_bytes(&r, op_checksum, 0, "", 0, &res) == RING_OK && res.err == 0 &&
              (uint64_t)res.result == UINT64_C(0xcbf29ce484222325),
          "checksum of no bytes");

    const char *text = "h\xc3\xa9llo, w\xc3\xb6rld";
    CHECK(ring_call_bytes(&r, op(&r, "echo_string"), 0, text, strlen(text), &res) == RING_OK, "echo_string");
    check_ok(&res, "echo_string");
    CHECK(res.out_kind == FERRY_OUT_BYTES && strcmp(res.out, text) == 0, "echo_string gave '%s'", res.out);
    ring_res_free(&res);

    /* HAS_INPUT with a null pointer and no bytes is an empty input, not a crash. */
    {
        uint64_t seq;
        CHECK(ring_claim(&r, &seq) == RING_OK && ring_wait_free(&r, seq, ring_now_ns() + r.hang_ns) == RING_OK,
              "claim");
        ring_req q = { .op = op_echo_bytes };
        ring_fill(&r, seq, &q);
        ring_slot(&r, seq)->flags = FERRY_CALL_HAS_INPUT; /* in_ptr 0, in_len 0 */
        ring_publish(&r, seq, 0);
        CHECK(ring_wait_done(&r, seq, ring_now_ns() + r.hang_ns) == RING_OK, "echo_bytes(null) hung");
        ring_take(&r, seq, &res);
        check_ok(&res, "echo_bytes(null input)");
        CHECK(res.out_kind == FERRY_OUT_BYTES && res.out_len == 0, "echo_bytes(null input): kind %u, %llu bytes",
              res.out_kind, (unsigned long long)res.out_len);
        ring_res_free(&res);
    }

    int32_t op_add = op(&r, "add");
    CHECK(ring_call2(&r, op_add, INT64_MAX, 1, &res) == RING_OK && res.err == 0 && res.result == INT64_MIN,
          "add(INT64_MAX, 1) = %lld, expected a wrap to INT64_MIN", (long long)res.result);
    CHECK(ring_call2(&r, op_add, -5, 3, &res) == RING_OK && res.result == -2, "add(-5, 3)");
    CHECK(ring_call2(&r, op(&r, "echo"), INT64_MIN, 0, &res) == RING_OK && res.result == INT64_MIN, "echo");
    CHECK(ring_call2(&r, op(&r, "noop"), 5, 6, &res) == RING_OK && res.err == 0 && res.result == 0 &&
              res.out_kind == FERRY_OUT_NONE,
          "noop");
    CHECK(ring_call2(&r, op(&r, "add_f64"), f64_bits(1.5), f64_bits(2.25), &res) == RING_OK && res.err == 0,
          "add_f64");
    double sum;
    memcpy(&sum, &res.result, sizeof sum);
    CHECK(sum == 3.75, "add_f64(1.5, 2.25) = %g", sum);
    CHECK(ring_call2(&r, op(&r, "add_f64"), f64_bits(INFINITY), f64_bits(-INFINITY), &res) == RING_OK, "add_f64");
    memcpy(&sum, &res.result, sizeof sum);
    CHECK(isnan(sum), "inf + -inf = %g", sum);

    int32_t op_spin = op(&r, "spin");
    CHECK(ring_call2(&r, op_spin, -1, 0, &res) == RING_OK, "spin(-1)");
    check_error(&res, EINVAL, "spin(-1)", "spin", NULL);
    ring_res_free(&res);
    CHECK(ring_call2(&r, op_spin, 0, 0, &res) == RING_OK && res.err == 0 && res.result >= 0, "spin(0)");
    CHECK(ring_call2(&r, op_spin, 2 * FT_MS, 0, &res) == RING_OK && res.err == 0 && res.result >= 2 * FT_MS,
          "spin(2 ms) ran %lld ns", (long long)res.result);

    int32_t op_order = op(&r, "order");
    CHECK(ring_call2(&r, op_order, 3, 2, &res) == RING_OK, "order");
    check_error(&res, EPROTO, "order(3, 2) first", "order", NULL);
    ring_res_free(&res);
    CHECK(ring_call2(&r, op_order, 3, 1, &res) == RING_OK && res.err == 0 && res.result == 1, "order(3, 1)");
    CHECK(ring_call2(&r, op_order, 3, 1, &res) == RING_OK, "order");
    check_error(&res, EPROTO, "order(3, 1) twice", NULL, NULL);
    ring_res_free(&res);
    CHECK(ring_call2(&r, op_order, 3, 2, &res) == RING_OK && res.err == 0 && res.result == 2, "order(3, 2)");
    CHECK(ring_call2(&r, op_order, 65536, 1, &res) == RING_OK, "order");
    check_error(&res, EINVAL, "order(65536, 1)", "producer", NULL);
    ring_res_free(&res);
    CHECK(ring_call2(&r, op_order, -1, 1, &res) == RING_OK, "order");
    check_error(&res, EINVAL, "order(-1, 1)", "producer", NULL);
    ring_res_free(&res);
    stop(&r);
}

/* ---- forged or half-written records -------------------------------------------------------------- */

/* A record with HAS_INPUT, in_ptr 0 and in_len 10 must end in FERRY_E_INVALID, not in an op reading
 * 10 bytes from nowhere (this once read past a 1-byte literal; ASan: global-buffer-overflow). */
static void test_null_input_with_length(void)
{
    ft_test_name = "null_input_with_length";
    ring r;
    start(&r, 4, NULL, NULL);
    uint64_t seq;
    CHECK(ring_claim(&r, &seq) == RING_OK && ring_wait_free(&r, seq, ring_now_ns() + r.hang_ns) == RING_OK, "claim");
    ring_req q = { .op = op(&r, "echo_bytes") };
    ring_fill(&r, seq, &q);
    ring_slot(&r, seq)->flags = FERRY_CALL_HAS_INPUT;
    ring_slot(&r, seq)->in_ptr = 0;
    ring_slot(&r, seq)->in_len = 10;
    ring_publish(&r, seq, 0);
    CHECK(ring_wait_done(&r, seq, ring_now_ns() + r.hang_ns) == RING_OK, "hung");
    ring_res res;
    ring_take(&r, seq, &res);
    check_error(&res, FERRY_E_INVALID, "in_ptr 0 with in_len 10", NULL, NULL);
    ring_res_free(&res);
    stop(&r);
}

/* An abort record whose flags and input fields are left over from an earlier call: the engine must
 * skip it without touching that input (the producer still owns it). Under ASan, a free by the engine
 * shows up as a double free below. */
static void test_abort_record_ignores_stale_input(void)
{
    ft_test_name = "abort_record_ignores_stale_input";
    ring r;
    start(&r, 4, NULL, NULL);
    uint64_t seq;
    CHECK(ring_claim(&r, &seq) == RING_OK && ring_wait_free(&r, seq, ring_now_ns() + r.hang_ns) == RING_OK, "claim");
    void *stale = ferry_alloc(32);
    ferry_slot *s = ring_slot(&r, seq);
    s->op = FERRY_OP_ABORT;
    s->flags = FERRY_CALL_HAS_INPUT;
    s->in_ptr = (uint64_t)(uintptr_t)stale;
    s->in_len = 32;
    ring_publish(&r, seq, FERRY_FLAG_GONE);
    uint64_t want = (seq + r.capacity) << FERRY_SEQ_SHIFT;
    int64_t deadline = ring_now_ns() + r.hang_ns;
    while (atomic_load(&s->state) != want) {
        CHECK(ring_now_ns() < deadline, "abort record not released: state %#llx",
              (unsigned long long)atomic_load(&s->state));
        sched_yield();
    }
    ferry_free(stale);
    stop(&r);
}

/* ---- the example engine ------------------------------------------------------------------------- */

static int64_t triple_plus_one(int64_t v)
{
    return 3 * v + 1;
}

static void test_example_engine(void)
{
    ft_test_name = "example_engine";
    ring r;
    start(&r, 8, EXAMPLE_LIB, "example_engine_init");
    uint32_t flags = 0;
    int32_t op_greet = ferry_op_lookup(r.engine, "example.greet", &flags);
    CHECK(op_greet >= 0, "example.greet not registered");
    CHECK(flags == (FERRY_OP_IN_BYTES | FERRY_OP_OUT_BYTES | FERRY_OP_TEXT), "example.greet flags %#x", flags);
    for (int i = 0; i < FT_TEST_OPS; i++)
        CHECK(ferry_op_lookup(r.engine, ft_test_op_names[i], NULL) == FERRY_E_UNKNOWN_OP,
              "the example engine has the test op %s", ft_test_op_names[i]);
    ring_res res;

    CHECK(ring_call_bytes(&r, op_greet, 0, "world", 5, &res) == RING_OK, "greet");
    check_ok(&res, "example.greet");
    CHECK(res.out_kind == FERRY_OUT_BYTES && res.out_len == 12 && memcmp(res.out, "hello, world", 12) == 0,
          "example.greet gave '%s' (%llu bytes)", res.out ? res.out : "", (unsigned long long)res.out_len);
    ring_res_free(&res);
    CHECK(ring_call_bytes(&r, op_greet, 0, "", 0, &res) == RING_OK, "greet");
    CHECK(res.err == 0 && res.out_len == 7 && strcmp(res.out, "hello, ") == 0, "example.greet('') gave '%s'",
          res.out ? res.out : "");
    ring_res_free(&res);
    ring_req noinput = { .op = op_greet };
    call(&r, &noinput, &res, "greet without input");
    check_error(&res, FERRY_E_INVALID, "example.greet without input", "example.greet", "input");
    ring_res_free(&res);

    int32_t op_mul = op(&r, "example.mul");
    CHECK(ring_call2(&r, op_mul, 6, 7, &res) == RING_OK && res.err == 0 && res.result == 42, "mul(6, 7) = %lld",
          (long long)res.result);
    CHECK(ring_call2(&r, op_mul, -3, 5, &res) == RING_OK && res.result == -15, "mul(-3, 5) = %lld",
          (long long)res.result);
    CHECK(ring_call2(&r, op_mul, INT64_C(1) << 62, 4, &res) == RING_OK && res.result == 0,
          "mul(2^62, 4) = %lld, expected a wrap to 0", (long long)res.result);

    int32_t op_tally = op(&r, "example.tally");
    int64_t expect = 0;
    for (int i = 1; i <= 5; i++) {
        expect += i * 10;
        CHECK(ring_call2(&r, op_tally, i * 10, 0, &res) == RING_OK && res.err == 0 && res.result == expect,
              "tally: %lld, expected %lld", (long long)res.result, (long long)expect);
    }

    int32_t op_cb = op(&r, "example.callback");
    int64_t (*fn)(int64_t) = triple_plus_one;
    CHECK(ring_call2(&r, op_cb, (int64_t)(uintptr_t)fn, 14, &res) == RING_OK && res.err == 0 && res.result == 43,
          "callback: %lld", (long long)res.result);
    CHECK(ring_call2(&r, op_cb, 0, 14, &res) == RING_OK, "callback(null)");
    check_error(&res, 22, "example.callback(null)", "null", NULL);
    ring_res_free(&res);
    stop(&r);

    /* An init symbol the library does not have. */
    char err[512] = "";
    int rc = ring_start(&r, 4, 0, EXAMPLE_LIB, "no_such_init_function", NULL, err, sizeof err);
    CHECK(rc == FERRY_E_LOAD, "missing init symbol: start returned %d (%s)", rc, err);
    CHECK(strstr(err, "no_such_init_function") && strstr(err, EXAMPLE_LIB), "missing init symbol: message '%s'", err);

    /* An init that fails: start fails with the init's own (positive) code and its message. */
    err[0] = '\0';
    rc = ring_start(&r, 4, 0, EXAMPLE_LIB, "example_engine_init_failing", NULL, err, sizeof err);
    CHECK(rc == 42, "failing init: start returned %d (%s), expected the init's code 42", rc, err);
    CHECK(strcmp(err, "example engine refuses to start: configured to fail") == 0, "failing init: message '%s'", err);
    CHECK(r.engine == NULL, "failing init: an engine was handed out");

    /* After a failed start the library starts engines as before. */
    start(&r, 4, EXAMPLE_LIB, "example_engine_init");
    CHECK(ring_call2(&r, op(&r, "example.tally"), 5, 0, &res) == RING_OK && res.result == 5,
          "a fresh engine's tally starts at 0: %lld", (long long)res.result);
    stop(&r);
}

/* A batch slot runs every item in order, reports each item's outcome and the first failure. */
static void test_batch(void)
{
    ft_test_name = "batch";
    ring r;
    start(&r, 8, NULL, NULL);
    enum { N = 1000 };
    ferry_batch_item *items = calloc(N, sizeof(*items));
    CHECK(items != NULL, "calloc");
    for (int i = 0; i < N; i++)
        items[i] = (ferry_batch_item){ .arg0 = i, .arg1 = 7, .result = -1, .err = -1 };
    ring_req q = { .op = op(&r, "add"), .flags = FERRY_CALL_BATCH, .items = items, .n_items = N };
    ring_res res;
    call(&r, &q, &res, "batch of adds");
    check_ok(&res, "batch of adds");
    CHECK(res.out_kind == FERRY_OUT_NONE, "batch of adds: out_kind %u", res.out_kind);
    for (int i = 0; i < N; i++)
        CHECK(items[i].result == i + 7 && items[i].err == 0, "item %d: result %lld err %d", i,
              (long long)items[i].result, items[i].err);
    free(res.out);

    /* spin(-n) fails with EINVAL naming n: items 1 and 3 fail, the others still run. */
    int64_t spins[] = { 0, -5, 0, -7, 0 };
    for (int i = 0; i < 5; i++)
        items[i] = (ferry_batch_item){ .arg0 = spins[i], .result = -1, .err = -1 };
    q = (ring_req){ .op = op(&r, "spin"), .flags = FERRY_CALL_BATCH, .items = items, .n_items = 5 };
    call(&r, &q, &res, "batch with failures");
    check_error(&res, EINVAL, "batch with failures", "-5", NULL);
    CHECK(res.result == 1, "the slot names item %lld as the first failure, expected 1", (long long)res.result);
    for (int i = 0; i < 5; i++)
        CHECK(items[i].err == (spins[i] < 0 ? EINVAL : 0), "item %d: err %d", i, items[i].err);
    free(res.out);

    /* An op with an input byte array cannot be batched; a null item array is refused. */
    q = (ring_req){ .op = op(&r, "echo_bytes"), .flags = FERRY_CALL_BATCH, .items = items, .n_items = 1 };
    call(&r, &q, &res, "batch of echo_bytes");
    check_error(&res, FERRY_E_INVALID, "batch of echo_bytes", "echo_bytes", "cannot be batched");
    free(res.out);
    q = (ring_req){ .op = op(&r, "add"), .flags = FERRY_CALL_BATCH, .items = NULL, .n_items = 3 };
    call(&r, &q, &res, "batch without items");
    check_error(&res, FERRY_E_INVALID, "batch without items", "null item pointer", NULL);
    free(res.out);

    /* An empty batch succeeds. */
    q = (ring_req){ .op = op(&r, "add"), .flags = FERRY_CALL_BATCH, .items = NULL, .n_items = 0 };
    call(&r, &q, &res, "empty batch");
    check_ok(&res, "empty batch");
    free(res.out);
    free(items);
    stop(&r);
}

static int my_nice(void)
{
    errno = 0;
    int v = getpriority(PRIO_PROCESS, (id_t)syscall(SYS_gettid));
    CHECK(errno == 0, "getpriority: %s", strerror(errno));
    return v;
}

static void test_engine_nice(void)
{
    ft_test_name = "engine_nice";
    ring r;
    start(&r, 8, NULL, NULL);
    char err[512] = "";
    int base = my_nice(), nice = 99;
    CHECK(ferry_engine_get_nice(r.engine, &nice) == 0, "ferry_engine_get_nice failed");
    CHECK(nice == base, "the engine thread starts at nice %d, its starter is at %d", nice, base);
    int target = base < 19 ? base + 1 : 18; /* raising it needs no privilege */
    int rc = ferry_engine_set_nice(r.engine, target, err, sizeof err);
    CHECK(rc == 0, "set_nice(%d): %d %s", target, rc, err);
    CHECK(ferry_engine_get_nice(r.engine, &nice) == 0 && nice == target, "nice is %d, expected %d", nice, target);
    CHECK(my_nice() == base, "set_nice moved the calling thread too: %d, was %d", my_nice(), base);
    int32_t echo = op(&r, "echo");
    ring_req q = {.op = echo, .arg0 = 41};
    ring_res res;
    call(&r, &q, &res, "echo after set_nice");
    CHECK(res.result == 41 && res.err == 0, "echo after set_nice: %lld err %d", (long long)res.result, res.err);
    for (int bad = -21; bad <= 20; bad += 41) {
        err[0] = 0;
        rc = ferry_engine_set_nice(r.engine, bad, err, sizeof err);
        CHECK(rc == FERRY_E_INVALID && strstr(err, "-20..19"), "set_nice(%d): %d '%s'", bad, rc, err);
    }

    /* Lowering it without the privilege: a child that is not root (it drops root if it has it). */
    struct rlimit lim;
    CHECK(getrlimit(RLIMIT_NICE, &lim) == 0, "getrlimit");
    /* RLIMIT_NICE n lets an unprivileged thread go down to 20 - n; the child asks for base - 1. */
    bool allowed_anyway = geteuid() != 0 && (lim.rlim_cur == RLIM_INFINITY || 20 - (long)lim.rlim_cur <= base - 1);
    if (allowed_anyway) {
        fprintf(stderr, "test_errors: engine_nice: RLIMIT_NICE lets this user lower nice; skipping the refusal\n");
    } else {
        pid_t pid = fork();
        CHECK(pid >= 0, "fork: %s", strerror(errno));
        if (pid == 0) {
            if (geteuid() == 0) {
                struct rlimit none = {0, 0};
                if (setrlimit(RLIMIT_NICE, &none) != 0 || setgid(65534) != 0 || setuid(65534) != 0)
                    _exit(3);
            }
            ring c;
            char cerr[512] = "";
            if (ring_start(&c, 8, 1000000, NULL, NULL, NULL, cerr, sizeof cerr) != 0)
                _exit(4);
            int crc = ferry_engine_set_nice(c.engine, my_nice() - 1, cerr, sizeof cerr);
            int ok = crc == FERRY_E_PERMISSION && strstr(cerr, "CAP_SYS_NICE") && strstr(cerr, "nice value to");
            if (!ok)
                fprintf(stderr, "child: set_nice: %d '%s'\n", crc, cerr);
            ring_stop(&c, ft_hang_ns());
            _exit(ok ? 0 : 5);
        }
        int status = 0;
        CHECK(waitpid(pid, &status, 0) == pid, "waitpid");
        CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "unprivileged child: status %d", status);
    }
    stop(&r);
}

int main(void)
{
    test_layout();
    test_region_size();
    test_start_invalid();
    test_start_bad_plugin();
    test_no_test_ops();
    test_op_lookup();
    test_unknown_op();
    test_missing_input();
    test_fail_op();
    test_test_op_edges();
    test_null_input_with_length();
    test_abort_record_ignores_stale_input();
    test_batch();
    test_engine_nice();
    test_hardening();
    if (access(EXAMPLE_LIB, R_OK) != 0) {
        fprintf(stderr, "test_errors: skipping the example engine tests: %s is not built (make native)\n",
                EXAMPLE_LIB);
        return 77;
    }
    test_example_engine();
    printf("test_errors: 16 tests passed\n");
    return 0;
}
