/*
 * ferry.h: the one source of truth for Ferry's native API and for the memory it shares with Java.
 *
 * Ferry runs every call to a single-threaded native engine on one pthread, the engine thread.
 * Java threads hand calls to it through a ring of slots in one native allocation (the "region") that
 * both sides read and write directly: Java with var handles, C with C11 atomics. The Java mirror of the
 * layout below is io.ferry.internal.Layout; a test compares it with ferry_layout() field by field.
 *
 * Return contract of every function here: 0 (or a non-negative value where documented) on success, a
 * negative FERRY_E_* code on failure. Nothing in libferry prints.
 */
#ifndef FERRY_H
#define FERRY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define FERRY_API __attribute__((visibility("default")))

/* ------------------------------------------------------------------------------------------------
 * Shared region layout
 *
 *   0                 128               256               384               512
 *   +-----------------+-----------------+-----------------+-----------------+--------+--------+----
 *   | header (config, | tail: producers'| engine: sleeping| stats: head,    | slot 0 | slot 1 | ...
 *   | read-only once  | claim counter,  | (futex), state; | completed,      | 128 B  | 128 B  |
 *   | started)        | bit 63 = CLOSED | rarely written  | started; engine-|        |        |
 *   |                 |                 |                 | written         |        |        |
 *   +-----------------+-----------------+-----------------+-----------------+--------+--------+----
 *
 * Every hot word sits alone on its own 128-byte block (two cache lines, against the adjacent-line
 * prefetcher). Producers read `sleeping` after every publish, so nothing the engine writes per batch
 * may share its block: the engine's counters live in the stats block (stats.started, written once per
 * call, is read by a caller when it gives a call up, and by a virtual thread once per call to see how
 * many calls are ahead of its own).
 *
 * A call travels in two places: the request in a ring slot, the outcome in a completion cell that its
 * caller owns (one per calling thread and engine, or one per async call in flight; Java allocates
 * them, 128-byte aligned, and their address travels in the slot). The engine copies the request out of
 * the slot and frees the slot before it runs the call, so a slot is held only while its call is queued:
 * a caller that is descheduled before it reads its result holds its own cell and nothing else.
 *
 * Slot (128 bytes; a call uses its first 64):
 *   0  state    u64  seq << 8 | flags | phase       (atomic; see below)
 *   8  op       i32  op id from ferry_op_lookup
 *   12 flags    u32  FERRY_CALL_* flags written by the producer
 *   16 ctx      u64  execution context id (0 = the systemic context)
 *   24 arg0     i64
 *   32 arg1     i64
 *   40 cell     u64  the address of the caller's ferry_cell
 *   48 in_ptr   u64  input bytes, malloc'd by ferry_alloc; the engine frees them once the call is done
 *   56 in_len   u64
 *   64 reserved 64 bytes
 *
 * Slot state word: seq (the claim sequence the slot currently serves) << 8, then flag bits, then a
 * two-bit phase. Phases advance FREE(seq) -> PUBLISHED -> FREE(seq + capacity):
 *   - FREE(seq): slot i starts as FREE(i). A producer that claimed seq waits until the slot reads
 *     exactly FREE(seq): the engine has taken the previous lap's call.
 *   - PUBLISHED: the producer wrote the slot with plain stores, then published with a release store.
 *   - the engine starts the call (see "Starting a call"), copies the request out and frees the slot
 *     with an exchange (acq_rel) of FREE(seq + capacity), before it runs the op.
 * Flags, set with a CAS while the phase is PUBLISHED:
 *   - GONE: the caller gave up (timeout, cancel, close) while the call was queued: the engine skips it.
 *   - FREE_WAKE: a producer that claimed the slot's next lap waits for it. The engine's exchange shows
 *     the flag, and the engine then calls the wake callback with FERRY_WAKE_SLOT | the slot's index.
 *
 * Completion cell (128 bytes, owned by the caller; the engine writes it once per call of that caller):
 *   0  state    u64  seq << 8 | flags | phase: DONE(seq) once the call's outcome is written
 *   8  result   i64  (a double travels as its IEEE bits)
 *   16 err      i32  0 = success, otherwise the op's error code
 *   20 out_kind u32  FERRY_OUT_*: what out_ptr holds
 *   24 out_ptr  u64  output bytes or error message, malloc'd by the engine; the reader frees them
 *   32 out_len  u64
 *   40 err_out_len u64  with FERRY_OUT_ERROR: output bytes the op wrote before it failed (see below)
 *   48 id       u32  the cell's number, written once by its owner: the wake callback's argument
 *   52 reserved
 * Between calls a cell's err is 0 and its out_kind FERRY_OUT_NONE: whoever takes a failure or an output
 * resets them (and the engine, for the outcome of a call given up while it ran, which it frees). So the
 * engine writes a plain call's outcome with one store (the result) and reads nothing of the cell before:
 * the caller is polling the line, and a load would fetch it before the store takes it.
 *
 * Cell state word: the caller never writes it for a call that it waits for by spinning: the engine
 * finishes seq with a CAS from whatever the state is to DONE(seq), keeping the caller's flags if they
 * are for seq. A caller writes it (CAS) only to set a flag for seq:
 *   - PARKED: the caller stopped spinning and parked, or the call is async: the engine's DONE CAS
 *     shows it and the engine calls the wake callback with the cell's id.
 *   - GONE: the caller gave the call up (timeout, cancel, interrupt, close): the engine discards the
 *     outcome (frees out_ptr) and makes no wake. A call skipped because its slot was GONE is finished
 *     the same way, so every published call (but an abort record) ends in exactly one DONE CAS on its
 *     cell: its owner may reuse a cell it gave up once the cell reads DONE(seq).
 * A cell serves one engine at a time, and that engine's sequences for it only grow, so a state whose
 * seq is below seq is the previous call's, never a later one's.
 *
 * Starting a call (stats.started): before it runs seq, the engine stores stats.started = seq + 1
 * (seq_cst), then re-loads the slot state (seq_cst) and skips the call if GONE is set. A caller that
 * set GONE on the slot (its CAS is a full fence) and then reads stats.started (seq_cst / volatile) can
 * tell:
 *   - started <= seq: the engine will skip the call (it never ran and never will);
 *   - started >  seq: the call may already be running (or have run): its result will be discarded,
 *     because the caller also sets GONE on its cell.
 * This is a Dekker pair, like the engine's sleep announcement (ferry__sleep in ferry_idle.c): each side
 * stores its own word, then loads the other's, with a StoreLoad barrier between, so at least one sees
 * the other. Nothing weaker than seq_cst orders a store before a later load.
 * ---------------------------------------------------------------------------------------------- */

#define FERRY_MAGIC        UINT64_C(0x3159525245464d52) /* "RMFERRY1" little-endian */
#define FERRY_VERSION      3u
#define FERRY_BLOCK        128u
#define FERRY_SLOT_SIZE    128u
#define FERRY_CELL_SIZE    128u

#define FERRY_OFF_HEADER   0u
#define FERRY_OFF_TAIL     128u
#define FERRY_OFF_ENGINE   256u
#define FERRY_OFF_STATS    384u
#define FERRY_OFF_SLOTS    512u

#define FERRY_TAIL_CLOSED  (UINT64_C(1) << 63)

#define FERRY_SEQ_SHIFT    8
#define FERRY_PHASE_MASK   UINT64_C(0x3)
#define FERRY_PHASE_FREE      UINT64_C(0)
#define FERRY_PHASE_PUBLISHED UINT64_C(1)
#define FERRY_PHASE_DONE      UINT64_C(3)
#define FERRY_FLAG_PARKED  UINT64_C(0x10)
#define FERRY_FLAG_GONE    UINT64_C(0x20)
#define FERRY_FLAG_FREE_WAKE UINT64_C(0x40)

/* Engine state word (engine line). */
#define FERRY_ENGINE_STARTING 0u
#define FERRY_ENGINE_RUNNING  1u
#define FERRY_ENGINE_DRAINING 2u
#define FERRY_ENGINE_STOPPED  3u

/* Slot.flags, written by the producer. */
#define FERRY_CALL_HAS_INPUT  0x1u
/* A batch slot: in_ptr points to in_len ferry_batch_item records owned by the producer (the engine
 * does not free them). The engine checks the context and the op once, then runs the op once per item
 * in order in the same turn, writing each item's result and err. The slot's own outcome is that of the
 * first failed item (err, message, and result = the item's index), or success. Ops with an input byte
 * array cannot be batched; outputs other than the 64-bit result are discarded. */
#define FERRY_CALL_BATCH      0x2u

/* Slot.out_kind, written by the engine. */
#define FERRY_OUT_NONE    0u
#define FERRY_OUT_BYTES   1u
/* A failure: out_ptr holds the message (out_len bytes, whole however long, never cut), a NUL, then the
 * err_out_len bytes of output the op had written before it failed (0 if none, or if there was no memory
 * to keep them). out_ptr is NULL only if the message itself could not be allocated. */
#define FERRY_OUT_ERROR   2u

/* The op id a producer writes when it must publish a slot it could not fill (abort record). The engine
 * skips such a record and ignores its flags, cell and input fields; the producer keeps ownership of any
 * input it had allocated. */
#define FERRY_OP_ABORT    (-1)

/* One call of a batch slot (FERRY_CALL_BATCH): 32 bytes, two per cache line. */
typedef struct ferry_batch_item {
    int64_t arg0;
    int64_t arg1;
    int64_t result; /* written by the engine */
    int32_t err;    /* written by the engine: 0 or the op's error code */
    uint32_t reserved;
} ferry_batch_item;

typedef struct ferry_header {
    uint64_t magic;
    uint32_t version;
    uint32_t capacity;     /* slots, a power of two */
    uint32_t slot_size;
    uint32_t reserved0;
    uint64_t region_size;
    uint8_t pad[FERRY_BLOCK - 32];
} ferry_header;

typedef struct ferry_tail_block {
    _Atomic uint64_t tail; /* next sequence to claim; FERRY_TAIL_CLOSED once intake stopped */
    uint8_t pad[FERRY_BLOCK - 8];
} ferry_tail_block;

typedef struct ferry_engine_block {
    _Atomic uint32_t sleeping; /* futex word: 1 while the engine sleeps or is about to */
    _Atomic uint32_t state;    /* FERRY_ENGINE_* */
    uint8_t pad[FERRY_BLOCK - 8];
} ferry_engine_block;

typedef struct ferry_stats_block {
    _Atomic uint64_t head;     /* next sequence the engine will run (advanced once per batch) */
    _Atomic uint64_t completed;/* calls run or skipped, for diagnostics */
    _Atomic uint64_t started;  /* seq + 1 of the last call the engine started (stored seq_cst before it
                                * re-checks GONE; see "Starting a call" above); callers read it
                                * after setting GONE, and virtual threads read it, as a mere hint,
                                * to choose between spinning and parking at once */
    _Atomic uint64_t call_ns;  /* what a call took the engine lately, in ns: the engine thread's CPU
                                * time over the last 64 calls it ran back to back, divided by 64
                                * (measured only within a run of at least 128 calls, so never
                                * counting idle time); 0 until then. A hint for waiting callers,
                                * written relaxed */
    uint8_t pad[FERRY_BLOCK - 32];
} ferry_stats_block;

typedef struct ferry_slot {
    _Atomic uint64_t state;
    int32_t op;
    uint32_t flags;
    uint64_t ctx;
    int64_t arg0;
    int64_t arg1;
    uint64_t cell;
    uint64_t in_ptr;
    uint64_t in_len;
    uint8_t reserved1[64];
} ferry_slot;

typedef struct ferry_cell {
    _Atomic uint64_t state;
    int64_t result;
    int32_t err;
    uint32_t out_kind;
    uint64_t out_ptr;
    uint64_t out_len;
    uint64_t err_out_len;
    uint32_t id;
    uint8_t reserved1[FERRY_CELL_SIZE - 52];
} ferry_cell;

typedef struct ferry_region {
    ferry_header header;
    ferry_tail_block tail;
    ferry_engine_block engine;
    ferry_stats_block stats;
    ferry_slot slots[];
} ferry_region;

/* One entry of the layout table: a field's name, byte offset and size. */
typedef struct ferry_layout_entry {
    const char *name;
    uint32_t offset;
    uint32_t size;
} ferry_layout_entry;

/* The layout table: every shared field Java addresses, as C sees it. Returns the entry count. */
FERRY_API int32_t ferry_layout(const ferry_layout_entry **entries);

/* ------------------------------------------------------------------------------------------------
 * Errors
 * ---------------------------------------------------------------------------------------------- */
#define FERRY_E_INVALID    (-1)  /* bad argument */
#define FERRY_E_NOMEM      (-2)
#define FERRY_E_INIT       (-3)  /* the engine's init failed; the message says why */
#define FERRY_E_LOAD       (-4)  /* the plug-in library or its init symbol could not be loaded */
#define FERRY_E_THREAD     (-5)  /* pthread_create failed */
#define FERRY_E_TIMEDOUT   (-6)
#define FERRY_E_EXISTS     (-7)  /* an op of that name is already registered */
#define FERRY_E_UNKNOWN_OP (-8)
#define FERRY_E_CLOSED     (-9)

/* ------------------------------------------------------------------------------------------------
 * Ops: C functions registered by name that run on the engine thread.
 * ---------------------------------------------------------------------------------------------- */
typedef struct ferry_call ferry_call;
typedef struct ferry_registry ferry_registry;

/* An op. Returns 0 on success; any other value fails the call with that code (use ferry_call_fail to
 * give a message as well). Runs on the engine thread; must not call back into the ring. */
typedef int (*ferry_op_fn)(ferry_call *call, void *data);

/* Op flags, declared at registration and checked by Java before a call is submitted. */
#define FERRY_OP_IN_BYTES   0x1u  /* takes an input byte array (required) */
#define FERRY_OP_OUT_BYTES  0x2u  /* returns bytes; otherwise a 64-bit result */
#define FERRY_OP_F64        0x4u  /* arguments and result are doubles (IEEE bits in arg0/arg1/result) */
#define FERRY_OP_MUTATES    0x8u  /* changes engine state (read-only contexts refuse it) */
#define FERRY_OP_TEXT       0x10u /* input and output bytes are UTF-8 text */
#define FERRY_OP_SYSTEM     0x20u /* a "ferry.*" op: exempt from contexts' op sets (set by Ferry only) */
/* Plumbing of Ferry or of an engine binding, not an API: the public op lookup (Java's Engine.op) refuses
 * it, only the binding's own code calls it. Every "ferry.*" op has it. A defence in depth, not a
 * boundary: no op, internal or not, may take a code or heap address from its caller, except one that
 * first demands a secret only a C function hands out (ferry.ffi_prepare and ferry_ffi_key: reading it
 * takes native access, which is what binding an address takes anyway). */
#define FERRY_OP_INTERNAL   0x40u

/* Registers an op; only from an engine init function (on the engine thread, before calls start).
 * Returns the op id (>= 0) or FERRY_E_INVALID / FERRY_E_EXISTS / FERRY_E_NOMEM. */
FERRY_API int32_t ferry_register_op(ferry_registry *reg, const char *name, ferry_op_fn fn, void *data,
                                    uint32_t flags);

/* Records why an engine init function failed; returns code so init can `return ferry_registry_fail(...)`. */
FERRY_API int ferry_registry_fail(ferry_registry *reg, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The configuration string the engine was started with (ferry_engine_start's init_arg), or "". */
FERRY_API const char *ferry_registry_arg(const ferry_registry *reg);

/* Registers a function that runs on the engine thread when the engine stops (after the last call). */
FERRY_API int ferry_registry_on_close(ferry_registry *reg, void (*fn)(void *data), void *data);

/* Registers a function that runs on the engine thread once per idle spell: when the engine has found
 * no call for FERRY_IDLE_HOOK_NS, or just before it goes to sleep, whichever comes first. For letting
 * go of what an engine holds only while calls keep coming (a read lock, a cache). */
#define FERRY_IDLE_HOOK_NS 1000000
FERRY_API int ferry_registry_on_idle(ferry_registry *reg, void (*fn)(void *data), void *data);

/* Registers a cancel hook: a function that asks the engine to stop the call it is running when that
 * call is blocked inside native code and cannot poll ferry_call_cancelled (SQLite: sqlite3_interrupt
 * on the connection in use). It runs on the thread that calls ferry_engine_cancel, never on the engine
 * thread, and only while the engine is inside the call being cancelled; the engine waits for it before
 * it starts its next call. So a hook must be thread-safe, short and non-blocking. A hook may land
 * before the op reaches its blocking point (SQLite forgets an interrupt that arrives while no
 * statement runs): an op that must never miss a cancel also polls ferry_call_cancelled, as callers set
 * GONE before they cancel. Only from an engine init function. */
typedef void (*ferry_cancel_fn)(void *data);
FERRY_API int ferry_registry_on_cancel(ferry_registry *reg, ferry_cancel_fn fn, void *data);

/* An engine init function: registers its ops; returns 0, or non-zero to fail the engine start. */
typedef int (*ferry_engine_init_fn)(ferry_registry *reg);

/* Accessors an op uses on its call. */
FERRY_API int64_t ferry_call_arg(const ferry_call *call, int index);        /* index 0 or 1 */
FERRY_API double ferry_call_arg_f64(const ferry_call *call, int index);
FERRY_API const void *ferry_call_input(const ferry_call *call, size_t *len); /* NULL, 0 if none */
FERRY_API uint64_t ferry_call_context(const ferry_call *call);
FERRY_API void ferry_call_set_i64(ferry_call *call, int64_t value);
FERRY_API void ferry_call_set_f64(ferry_call *call, double value);
/* Copies len bytes as the call's output. Returns 0 or FERRY_E_NOMEM. */
FERRY_API int ferry_call_set_output(ferry_call *call, const void *data, size_t len);
/* Hands a malloc'd buffer of len bytes over as the call's output, without a copy: from here on Ferry
 * owns it and frees it. */
FERRY_API void ferry_call_adopt_output(ferry_call *call, void *data, size_t len);
/* Allocates the call's output buffer for the op to fill. Returns NULL when out of memory. */
FERRY_API void *ferry_call_output_buffer(ferry_call *call, size_t len);
/* Fails the call with code (non-zero) and a message of any length (formatted into a buffer of its exact
 * size: it arrives whole); returns code. Output the op set before or after stays with the failure (see
 * FERRY_OUT_ERROR): a caller sees what was written before things went wrong. */
FERRY_API int ferry_call_fail(ferry_call *call, int code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* 1 once the caller gave up on this call (timeout or cancel): a long op should stop early. */
FERRY_API int ferry_call_cancelled(const ferry_call *call);

/* ------------------------------------------------------------------------------------------------
 * Execution contexts
 *
 * Every call carries a context id (slot.ctx). A context is an isolated scope of variables plus
 * permissions, held on the engine thread. The systemic context exists from start to stop; user
 * contexts are made from it or from any other context by the system op "ferry.ctx_create" and freed by
 * "ferry.ctx_close". An id is (generation << 32) | index: a closed or never-issued id resolves to
 * nothing, so a stale or forged id fails its call with FERRY_E_CONTEXT and touches no other context.
 *
 * Before every op the engine resolves the call's context and authorizes the op in it: a read-only
 * context refuses ops flagged FERRY_OP_MUTATES, a context limited to a set of ops refuses every other
 * op (FERRY_E_DENIED). System ops ("ferry.*": scopes and contexts) are exempt from the op set. A child
 * is never more permitted than its parent: it inherits read-only and intersects the op set.
 * ---------------------------------------------------------------------------------------------- */
#define FERRY_SYSTEM_CONTEXT  (UINT64_C(1) << 32) /* index 0, generation 1 */

#define FERRY_E_CONTEXT    (-10) /* the call's context is closed or was never issued */
#define FERRY_E_DENIED     (-11) /* the op is not permitted in the call's context */
#define FERRY_E_NOT_FOUND  (-12) /* no such variable */
#define FERRY_E_FROZEN     (-13) /* the variable is frozen in this context */
#define FERRY_E_PERMISSION (-14) /* the OS refused (e.g. a negative nice value without CAP_SYS_NICE) */

/* Context flags. */
#define FERRY_CTX_READ_ONLY   0x1u

/* Variable types. */
#define FERRY_VAR_I64     1u
#define FERRY_VAR_F64     2u
#define FERRY_VAR_STRING  3u
#define FERRY_VAR_BYTES   4u

/* A scope variable as an op sees it. bytes stay valid until the op returns. */
typedef struct ferry_value {
    uint32_t type;     /* FERRY_VAR_* */
    uint32_t frozen;   /* 1 if frozen into this context from its parent */
    int64_t i64;
    double f64;
    const void *bytes; /* STRING (NUL-terminated, len without the NUL) and BYTES */
    size_t len;
} ferry_value;

/* The system ops, registered before the plug-in's ops (all little-endian, u32 lengths):
 *   ferry.ctx_create  ctx = parent; arg0 = FERRY_CTX_* | FERRY_CTX_OPEN_* flags; input =
 *                     u32 name_len, name, u32 n_freeze, n_freeze x (u32 len, name),
 *                     u32 n_ops (0xffffffff: no op set), n_ops x i32 op id           -> the new id
 *   ferry.ctx_close   ctx = the context to close (not the systemic one)               -> 0
 *   ferry.var_set     arg0 = FERRY_VAR_*, arg1 = the i64 or f64 bits; input = u32 name_len, name,
 *                     then the value bytes for STRING and BYTES                        -> 0
 *   ferry.var_get     input = name                      -> output: u32 type, u32 frozen, then the
 *                                                          8 value bytes (I64, F64) or the value bytes
 *   ferry.var_unset   input = name                                                     -> 1 if removed */
#define FERRY_NO_OP_SET UINT32_MAX

/* Looks a variable up in the scope of the call's context. Returns 0 or FERRY_E_NOT_FOUND. */
FERRY_API int ferry_call_var(const ferry_call *call, const char *name, ferry_value *out);
/* The call's context's name (for messages). */
FERRY_API const char *ferry_call_context_name(const ferry_call *call);
/* FERRY_CTX_* flags of the call's context. */
FERRY_API uint32_t ferry_call_context_flags(const ferry_call *call);

/* What an engine learns about a context when it is opened (see ferry_registry_on_context). */
typedef struct ferry_context_info {
    uint64_t id;
    uint64_t parent;         /* 0 for the systemic context */
    const char *name;
    uint32_t flags;          /* FERRY_CTX_* */
    void *parent_data;       /* the parent's engine data, NULL for the systemic context; valid only
                              * during the open hook (closing a parent does not close its children) */
    uint32_t open_flags;     /* the flags the creator passed for the engine (FERRY_CTX_OPEN_*) */
} ferry_context_info;

/* Engine-defined meaning, passed through from the creator (e.g. "private database" for SQLite). */
#define FERRY_CTX_OPEN_PRIVATE 0x100u

/* Per-context engine state: open runs on the engine thread when a context is created (for the systemic
 * context: right after init), close when it is closed or the engine stops. open may fail the creation
 * by returning non-zero after ferry_registry_fail-style reporting through err/errlen. */
typedef int (*ferry_context_open_fn)(const ferry_context_info *ctx, void **ctx_data, void *data, char *err,
                                     size_t errlen);
typedef void (*ferry_context_close_fn)(uint64_t id, void *ctx_data, void *data);
FERRY_API int ferry_registry_on_context(ferry_registry *reg, ferry_context_open_fn open,
                                        ferry_context_close_fn close, void *data);
/* The engine data the open hook gave the call's context. */
FERRY_API void *ferry_call_context_data(const ferry_call *call);

/* ------------------------------------------------------------------------------------------------
 * Engine lifecycle (used by Java)
 * ---------------------------------------------------------------------------------------------- */
typedef struct ferry_engine ferry_engine;

/* Called on the engine thread with a cell's id when a call whose caller parked (or an async call) is
 * done; with FERRY_WAKE_SLOT | a slot's index when the engine freed a slot whose state had FREE_WAKE;
 * and once, with FERRY_WAKE_HELLO, on the engine thread before init runs, so the host can learn which
 * thread is the engine's. Cell ids are below FERRY_WAKE_SLOT. */
typedef void (*ferry_wake_fn)(uint32_t code);
#define FERRY_WAKE_HELLO UINT32_MAX
#define FERRY_WAKE_SLOT  UINT32_C(0x80000000)

/* Bytes of region needed for `capacity` slots (a power of two, 1 .. 2^24), or 0 if capacity is bad. */
FERRY_API uint64_t ferry_region_size(uint32_t capacity);

/* Starts an engine on `region` (region_size(capacity) bytes, 128-byte aligned, owned by the caller and
 * kept alive until ferry_engine_destroy). Spawns the thread "ferry-engine", which registers the system
 * ops, then, if plugin_path is not NULL, dlopens it and runs its init_symbol (a ferry_engine_init_fn).
 * Blocks until init finished. On failure returns a non-zero code (a negative FERRY_E_*, or the positive
 * code the engine's init function failed with), writes a message to err (errlen bytes) and has joined
 * the thread. idle_spin_ns: how long an idle engine spins before it sleeps. */
FERRY_API int ferry_engine_start(void *region, uint32_t capacity, int64_t idle_spin_ns,
                                 const char *plugin_path, const char *init_symbol, const char *init_arg,
                                 ferry_wake_fn wake, ferry_engine **out, char *err, size_t errlen);

/* The engine's idle policy, which may change while it runs (each field is read at the spin's next clock
 * read): an idle engine spins up to spin_ns before it sleeps (0: it sleeps at once); once it has spun
 * yield_after_ns (0: never) it calls sched_yield between polls, so that a thread waiting for its core
 * (a caller it has just woken) runs; and if one poll window or one yield took preempted_ns or longer
 * (0: no such check), other threads want the core: it sleeps at once, and so does every idle spell for
 * the next step_aside_ns. Returns 0, or FERRY_E_INVALID for a NULL engine or a negative value. */
FERRY_API int ferry_engine_set_idle(ferry_engine *engine, int64_t spin_ns, int64_t yield_after_ns,
                                    int64_t preempted_ns, int64_t step_aside_ns);

/* Wakes the engine if it announced it sleeps. Producers call it after publishing when they read
 * engine.sleeping != 0. Never blocks. */
FERRY_API void ferry_engine_wake(ferry_engine *engine);

/* Stops intake: sets FERRY_TAIL_CLOSED and tells the engine to stop once every call claimed before
 * that point has run. Returns the first sequence that was not accepted. Never blocks; idempotent. */
FERRY_API uint64_t ferry_engine_stop(ferry_engine *engine);

/* Joins the engine thread, waiting at most timeout_ns. Returns 0 or FERRY_E_TIMEDOUT. */
FERRY_API int ferry_engine_join(ferry_engine *engine, int64_t timeout_ns);

/* Frees the engine (not the region). Only after ferry_engine_join returned 0. */
FERRY_API void ferry_engine_destroy(ferry_engine *engine);

/* Runs the engine's cancel hooks (ferry_registry_on_cancel) if the engine is running the call of
 * claim sequence seq right now. Returns 1 if they ran, 0 if not: no hook is registered, or seq has not
 * started, has finished or was skipped. Never runs a hook during another call: the engine and the
 * cancellers agree through a Dekker pair (ferry__cancel_window_close in ferry_cancel.c). A caller that gave
 * up on seq and read stats.started > seq (ferry.h, "Starting a call") and then calls this sees the
 * call running unless it has already finished. Any thread, once started, until ferry_engine_destroy.
 * An engine without hooks pays one predictable branch per call for this. */
FERRY_API int ferry_engine_cancel(ferry_engine *engine, uint64_t seq);

/* Looks up an op by name. Returns its id (>= 0) and its flags, or FERRY_E_UNKNOWN_OP. Any thread,
 * once started. */
FERRY_API int32_t ferry_op_lookup(ferry_engine *engine, const char *name, uint32_t *flags);

/* Sets the engine thread's nice value (-20..19; 0 is the default, lower runs first). The engine
 * thread serves every caller, so on a machine with fewer cores than busy threads a lower nice value
 * keeps the scheduler from sharing the engine's core with them. Going below the current value needs
 * CAP_SYS_NICE or an RLIMIT_NICE that allows it. Any thread, once started. Returns 0, FERRY_E_INVALID,
 * FERRY_E_PERMISSION or FERRY_E_CLOSED, with a message in err. */
FERRY_API int ferry_engine_set_nice(ferry_engine *engine, int nice, char *err, size_t errlen);

/* Reads the engine thread's nice value into *nice. Returns 0, FERRY_E_INVALID for a null argument, or
 * FERRY_E_CLOSED once the engine thread was joined. */
FERRY_API int ferry_engine_get_nice(ferry_engine *engine, int *nice);

/* CPU time the engine thread has used, in ns, or -1. */
FERRY_API int64_t ferry_engine_cpu_ns(ferry_engine *engine);

/* Memory whose ownership passes through the ring (call inputs, outputs, error messages). */
FERRY_API void *ferry_alloc(uint64_t size);
FERRY_API void ferry_free(void *ptr);

/* ------------------------------------------------------------------------------------------------
 * Engine-thread downcalls (ferry_ffi.c; Java: Engine.downcallHandle)
 *
 * A native function called on the engine thread through libffi, with no Java on that thread: Java binds
 * it once (ferry.ffi_prepare builds and keeps its libffi call interface) and then, per call, writes the
 * arguments into a channel (or, for one argument, into the slot) and runs ferry.ffi_call. All three ops
 * are system and internal; see ferry_ffi.c for why none of them lets a caller without native access
 * choose a code address or argument bytes.
 *
 *   ferry.ffi_prepare  input = u64 key (ferry_ffi_key), u64 address (0: by name), u32 nargs, u8 return
 *                      kind, nargs x u8 argument kind, then, with address 0, the symbol's name (no NUL),
 *                      looked up in the engine library (and what it links) then the global scope
 *                                           -> the handle's token (> 0): its index and random bits
 *                      fails FERRY_E_DENIED (wrong key), FERRY_E_NOT_FOUND (no such symbol: the
 *                      message starts "unresolved symbol: NAME"), FERRY_E_INVALID (a bad kind, too many
 *                      arguments, a malformed input)
 *   ferry.ffi_channel  arg0 = key                -> the address of a new channel of
 *                      FERRY_FFI_CHANNEL_BYTES, zeroed but for its u32 id in its first 4 bytes. The host
 *                      owns the memory: the engine never frees it (the host may still write it after the
 *                      engine stopped), and frees it with ferry_free once the engine has stopped
 *   ferry.ffi_call     arg0 = the handle's token; arg1 = for a function of one argument, that argument
 *                      (in the low bytes of the 64-bit word), of two or more, a channel id, the channel
 *                      holding argument i at FERRY_FFI_CHANNEL_ARGS + 8 i (likewise), of none, ignored
 *                      (fails FERRY_E_DENIED for a wrong token; after 64 of them, for every call)
 *                                                       -> the return value: an integer kind
 *                      sign- or zero-extended to 64 bits as its C type is, a float's 32 bits, a double's
 *                      64 bits, a pointer, or 0 for void
 * Handles and channels live until the engine stops.
 * ---------------------------------------------------------------------------------------------- */
#define FERRY_FFI_MAX_ARGS      64
#define FERRY_FFI_CHANNEL_ARGS  8u
#define FERRY_FFI_CHANNEL_BYTES (FERRY_FFI_CHANNEL_ARGS + 8u * FERRY_FFI_MAX_ARGS)

/* Argument and return kinds, the C types of the Linker's mapping of Java's carriers. */
#define FERRY_FFI_VOID 0u /* return only */
#define FERRY_FFI_BOOL 1u /* boolean: C bool */
#define FERRY_FFI_I8   2u /* byte: int8_t */
#define FERRY_FFI_I16  3u /* short: int16_t */
#define FERRY_FFI_U16  4u /* char: uint16_t */
#define FERRY_FFI_I32  5u /* int */
#define FERRY_FFI_I64  6u /* long: int64_t */
#define FERRY_FFI_F32  7u /* float */
#define FERRY_FFI_F64  8u /* double */
#define FERRY_FFI_PTR  9u /* MemorySegment: void * */

/* The process's downcall key, a random number fixed at first use, which ferry.ffi_prepare and
 * ferry.ffi_channel demand: only code that can make native calls can learn it. Any thread. */
FERRY_API uint64_t ferry_ffi_key(void);

/* ------------------------------------------------------------------------------------------------
 * Java tasks on the engine thread (ferry_task.c; io.ferry.Engine#run / #call)
 *
 * libferry registers one more internal system op, "ferry.task" (arg0 = a task cell's index in a Java
 * table, arg1 = that cell's stamp; 64-bit result, unused). It calls the one upcall Java installs with
 * ferry_task_set_upcall, on the engine thread, with FERRY_TASK_RUN (ctx = the call's context id, a = arg0,
 * b = arg1, p = the ferry_call, for ferry_call_var while the task runs); the upcall runs the Java task and
 * keeps its result or throwable on the Java side, and never lets an exception escape (one would end the
 * JVM). It returns 0, or a non-zero code that fails the call (the cell was stale or unknown).
 *
 * The same upcall hears of the engine's life, on the engine thread, once a task has run on it (so
 * engines that never run a Java task make no such upcall):
 *   FERRY_TASK_CTX_OPEN   ctx = the new context's id, a = its parent's id, b = its FERRY_CTX_* flags,
 *                         p = its name (a NUL-terminated string, valid during the upcall)
 *   FERRY_TASK_CTX_CLOSE  ctx = the id of a context about to close (before the engine's own close hook)
 *   FERRY_TASK_STOP       once, when the engine stops, after the last call and after every context
 *                         closed (an on-close hook registered before the plug-in's: it runs after them)
 * Java's cancel hooks (a task's onCancel) run in Java on the thread that gives the task up; libferry
 * registers no ferry_registry_on_cancel hook for tasks, so an engine pays nothing for them per call.
 * ---------------------------------------------------------------------------------------------- */
#define FERRY_TASK_RUN        1
#define FERRY_TASK_CTX_OPEN   2
#define FERRY_TASK_CTX_CLOSE  3
#define FERRY_TASK_STOP       4

typedef int64_t (*ferry_task_upcall_fn)(int32_t kind, int64_t ctx, int64_t a, int64_t b, int64_t p);

/* Installs the task upcall for every engine of the process (Java does so once, with a stub that lives
 * as long as the JVM). Any thread; later engines' and running engines' next task use it. */
FERRY_API void ferry_task_set_upcall(ferry_task_upcall_fn fn);

/* ------------------------------------------------------------------------------------------------
 * Engine counters (ferry_counters.c): what the engine thread counts for observability
 *
 * A block the host allocates (ferry_counters_size bytes, 128-byte aligned, zeroed, owned by the host and
 * kept alive until the engine thread is joined) and hands the engine with ferry_engine_attach_counters.
 * The engine thread is its only writer except for line 0 and each op's `track` word, which the host
 * writes (rarely: when it configures tracking). No caller polls any of it: it shares no cache line with
 * the region, so counting moves no line a waiting caller reads. Every engine-written field is a single-
 * writer u64 stored relaxed; readers load it relaxed (each value is exact, a snapshot of several is not
 * atomic). Counted on the engine's rare paths (a failure, a skipped call, a sleep) and per call only in
 * the op's own entry (calls); time is read per call only for tracked ops or with FERRY_COUNTERS_TIME_ALL.
 *
 *   line 0        magic, op_count, control (host-written)
 *   line 1        failed, skipped, aborted, sleeps, runs, sampled_runs, sampled_ns, timed_calls, timed_ns,
 *                 other (so that the ops' calls + other + skipped + aborted are every slot the engine took),
 *                 sampled_cpu_ns, sampled_calls
 *   hist          FERRY_HIST_BUCKETS u64: engine time per timed call, log-linear (ferry_hist_index)
 *   ops[op_count] per op id: calls, failed, timed_calls, timed_ns, track (host-written)
 * ---------------------------------------------------------------------------------------------- */
#define FERRY_COUNTERS_MAGIC 0x31544e4359524546ULL
/* control: time every call (the engine-time histogram and every op's time), not only tracked ops */
#define FERRY_COUNTERS_TIME_ALL 0x1u
/* A log-linear histogram of ns values, 16 buckets per power of two (HdrHistogram's layout with 4
 * sub-bucket bits: a bucket is at most 1/16 of its value wide), up to 2^40 ns; larger values fall in the
 * last bucket. Bucket i's lowest value is ferry_hist_lowest(i). */
#define FERRY_HIST_SUB_BITS 4u
#define FERRY_HIST_BUCKETS 608u

static inline uint32_t ferry_hist_index(uint64_t v)
{
    if (v < (1u << FERRY_HIST_SUB_BITS))
        return (uint32_t)v;
    uint32_t b = 63u - (uint32_t)__builtin_clzll(v); /* >= 4 */
    uint32_t i = ((b - FERRY_HIST_SUB_BITS + 1) << FERRY_HIST_SUB_BITS) |
                 (uint32_t)((v >> (b - FERRY_HIST_SUB_BITS)) & ((1u << FERRY_HIST_SUB_BITS) - 1));
    return i < FERRY_HIST_BUCKETS ? i : FERRY_HIST_BUCKETS - 1;
}

typedef struct ferry_op_counters {
    _Atomic uint64_t calls;       /* calls of this op the engine ran (a batch slot counts once) */
    _Atomic uint64_t failed;      /* of which failed */
    _Atomic uint64_t timed_calls; /* of which timed (tracked, or TIME_ALL) */
    _Atomic uint64_t timed_ns;    /* their wall time on the engine, ns */
    _Atomic uint64_t track;       /* host-written: non-zero to time every call of this op */
    uint64_t pad[3];
} ferry_op_counters;

typedef struct ferry_counters {
    uint64_t magic;               /* written by ferry_engine_attach_counters */
    uint32_t op_count;            /* ops[] entries (the engine's op count), written by attach */
    _Atomic uint32_t control;     /* host-written: FERRY_COUNTERS_TIME_ALL */
    uint8_t pad0[FERRY_BLOCK - 16];
    _Atomic uint64_t failed;       /* calls that ended in an error (any op, checks before the op included) */
    _Atomic uint64_t skipped;      /* calls skipped because their caller gave up before they started */
    _Atomic uint64_t aborted;      /* abort records (a producer failed between claim and publish) */
    _Atomic uint64_t sleeps;       /* times the engine slept on its futex (each needed a wake-up) */
    _Atomic uint64_t runs;         /* drains that ran at least one call */
    _Atomic uint64_t sampled_runs; /* of which timed (one in 64) */
    _Atomic uint64_t sampled_ns;   /* their wall time: busy ns ~ runs * sampled_ns / sampled_runs */
    _Atomic uint64_t timed_calls;  /* calls timed (tracked ops, or TIME_ALL) */
    _Atomic uint64_t timed_ns;     /* their wall time on the engine, ns */
    _Atomic uint64_t other;        /* calls run with an op id out of range (failed: unknown op) */
    _Atomic uint64_t sampled_cpu_ns; /* the sampled runs' CPU time (thread clock): the rest was off-core */
    _Atomic uint64_t sampled_calls;  /* slots the sampled runs took: busy ~ slots taken * sampled_ns / this */
    uint8_t pad1[FERRY_BLOCK - 96];
    _Atomic uint64_t hist[FERRY_HIST_BUCKETS];
    ferry_op_counters ops[];
} ferry_counters;

/* The counters block's layout table (as ferry_layout for the region): Java's CountersLayoutTest compares
 * it with io.ferry.internal.EngineCounters. Returns the entry count. */
FERRY_API int32_t ferry_counters_layout(const ferry_layout_entry **entries);
/* Bytes of a counters block for an engine of op_count ops. */
FERRY_API uint64_t ferry_counters_size(uint32_t op_count);
/* The engine's op count (fixed once started), or a negative FERRY_E_*. */
FERRY_API int32_t ferry_engine_op_count(ferry_engine *engine);
/* Hands the engine its counters block (size ferry_counters_size(ferry_engine_op_count(engine)) bytes,
 * zeroed): the engine counts into it from its next call on. Once per engine. Returns 0, or
 * FERRY_E_INVALID (bad size or alignment, or a block was already attached). */
FERRY_API int ferry_engine_attach_counters(ferry_engine *engine, ferry_counters *block, uint64_t size);

#ifdef __cplusplus
}
#endif
#endif /* FERRY_H */
