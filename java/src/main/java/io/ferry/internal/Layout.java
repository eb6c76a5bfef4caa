package io.ferry.internal;

/**
 * The Java mirror of the shared region declared in {@code native/include/ferry.h}, which is the one
 * source of truth. {@code LayoutTest} compares every constant here with the table libferry exports.
 *
 * <pre>
 *   0                 128               256               384               512
 *   +-----------------+-----------------+-----------------+-----------------+--------+--------+----
 *   | header (config) | tail: claim     | engine: sleeping| stats: head,    | slot 0 | slot 1 | ...
 *   |                 | counter, bit 63 | (futex), state  | completed,      | 128 B  | 128 B  |
 *   |                 | = CLOSED        | (rarely written)| started         |        |        |
 *   |                 |                 |                 | (engine-written)|        |        |
 *   +-----------------+-----------------+-----------------+-----------------+--------+--------+----
 *
 *   slot: 0 state | 8 op | 12 flags | 16 ctx | 24 arg0 | 32 arg1 | 40 cell | 48 in_ptr | 56 in_len
 *   slot state: seq &lt;&lt; 8 | FREE_WAKE 0x40 | GONE 0x20 | phase (FREE 0, PUBLISHED 1)
 *
 *   completion cell (caller-owned, 128 B): 0 state | 8 result | 16 err | 20 out_kind | 24 out_ptr
 *         32 out_len | 40 err_out_len | 48 id
 *   cell state: seq &lt;&lt; 8 | GONE 0x20 | PARKED 0x10 | phase (DONE 3 once the call's outcome is in)
 * </pre>
 *
 * <p>The engine copies a call out of its slot and frees the slot before it runs the call; it writes the
 * outcome into the caller's cell and ends it with one CAS to DONE. A
 * caller that gave up (CAS of GONE, a full fence) reads {@link #STATS_STARTED} with {@code getVolatile}:
 * a value {@code <= seq} means the engine will skip the call, a larger one that it may already be
 * running (ferry.h, "Starting a call"). A virtual thread also reads it (plainly, as a hint) to see how
 * many calls are ahead of its own before it decides to spin or park.
 */
public final class Layout {
    private Layout() {
    }

    public static final long ALIGNMENT = 128;

    public static final long OFF_HEADER = 0;
    public static final long OFF_TAIL = 128;
    public static final long OFF_ENGINE = 256;
    public static final long OFF_STATS = 384;
    public static final long OFF_SLOTS = 512;

    public static final long HEADER_MAGIC = OFF_HEADER;
    public static final long HEADER_VERSION = OFF_HEADER + 8;
    public static final long HEADER_CAPACITY = OFF_HEADER + 12;
    public static final long HEADER_SLOT_SIZE = OFF_HEADER + 16;
    public static final long HEADER_REGION_SIZE = OFF_HEADER + 24;

    public static final long TAIL = OFF_TAIL;
    public static final long ENGINE_SLEEPING = OFF_ENGINE;
    public static final long ENGINE_STATE = OFF_ENGINE + 4;
    public static final long STATS_HEAD = OFF_STATS;
    public static final long STATS_COMPLETED = OFF_STATS + 8;
    /** seq + 1 of the last call the engine started (u64, stored seq_cst before it re-checks GONE). */
    public static final long STATS_STARTED = OFF_STATS + 16;
    /** What a call took the engine lately, in ns (u64, relaxed; 0 until measured): a hint for waiting callers. */
    public static final long STATS_CALL_NS = OFF_STATS + 24;

    public static final long SLOT_SIZE = 128;
    public static final long SLOT_STATE = 0;
    public static final long SLOT_OP = 8;
    public static final long SLOT_FLAGS = 12;
    public static final long SLOT_CTX = 16;
    public static final long SLOT_ARG0 = 24;
    public static final long SLOT_ARG1 = 32;
    /** The address of the caller's completion cell. */
    public static final long SLOT_CELL = 40;
    public static final long SLOT_IN_PTR = 48;
    public static final long SLOT_IN_LEN = 56;

    /** A completion cell's size and alignment: one per 128-byte block, so no two callers share a line pair. */
    public static final long CELL_SIZE = 128;
    public static final long CELL_STATE = 0;
    public static final long CELL_RESULT = 8;
    public static final long CELL_ERR = 16;
    public static final long CELL_OUT_KIND = 20;
    public static final long CELL_OUT_PTR = 24;
    public static final long CELL_OUT_LEN = 32;
    /** With OUT_ERROR: output bytes the op wrote before it failed; they follow the message's NUL at out_ptr. */
    public static final long CELL_ERR_OUT_LEN = 40;
    /** The cell's number, written once by its owner: the wake callback's argument. */
    public static final long CELL_ID = 48;

    public static final long MAGIC = 0x3159525245464d52L;
    public static final int VERSION = 3;

    public static final long TAIL_CLOSED = 1L << 63;
    public static final int SEQ_SHIFT = 8;
    public static final long PHASE_MASK = 0x3;
    public static final long PHASE_FREE = 0;
    public static final long PHASE_PUBLISHED = 1;
    public static final long PHASE_DONE = 3;
    public static final long FLAG_PARKED = 0x10;
    public static final long FLAG_GONE = 0x20;
    /** A producer waits for this slot's next lap: the engine, if it frees the slot itself, wakes (ferry.h). */
    public static final long FLAG_FREE_WAKE = 0x40;

    public static final int ENGINE_STARTING = 0;
    public static final int ENGINE_RUNNING = 1;
    public static final int ENGINE_DRAINING = 2;
    public static final int ENGINE_STOPPED = 3;

    public static final int CALL_HAS_INPUT = 0x1;
    /** Slot.flags: in_ptr/in_len are a caller-owned array of in_len batch items (ferry_batch_item). */
    public static final int CALL_BATCH = 0x2;

    /** ferry_batch_item: one call of a batch slot. */
    public static final long BATCH_ITEM_SIZE = 32;
    public static final long BATCH_ITEM_ARG0 = 0;
    public static final long BATCH_ITEM_ARG1 = 8;
    public static final long BATCH_ITEM_RESULT = 16;
    public static final long BATCH_ITEM_ERR = 24;
    public static final int OUT_NONE = 0;
    public static final int OUT_BYTES = 1;
    public static final int OUT_ERROR = 2;
    public static final int OP_ABORT = -1;

    public static final int OP_IN_BYTES = 0x1;
    public static final int OP_OUT_BYTES = 0x2;
    public static final int OP_F64 = 0x4;
    public static final int OP_MUTATES = 0x8;
    public static final int OP_TEXT = 0x10;
    /** A "ferry.*" op: exempt from contexts' op sets (set by Ferry only). */
    public static final int OP_SYSTEM = 0x20;
    /** Plumbing of Ferry or of an engine binding: Engine.op refuses it (FERRY_OP_INTERNAL). */
    public static final int OP_INTERNAL = 0x40;

    /** FERRY_E_* codes, as ferry.h numbers them. */
    public static final int E_INVALID = -1;
    public static final int E_NOMEM = -2;
    public static final int E_INIT = -3;
    public static final int E_LOAD = -4;
    public static final int E_THREAD = -5;
    public static final int E_TIMEDOUT = -6;
    public static final int E_EXISTS = -7;
    public static final int E_UNKNOWN_OP = -8;
    public static final int E_CLOSED = -9;
    public static final int E_CONTEXT = -10;
    public static final int E_DENIED = -11;
    public static final int E_NOT_FOUND = -12;
    public static final int E_FROZEN = -13;
    public static final int E_PERMISSION = -14;

    /** The system ops' formats (ferry.h): context flags, the engine's open flag, variable types, no op set. */
    public static final int CTX_READ_ONLY = 0x1;
    public static final int CTX_OPEN_PRIVATE = 0x100;
    public static final int VAR_I64 = 1;
    public static final int VAR_F64 = 2;
    public static final int VAR_STRING = 3;
    public static final int VAR_BYTES = 4;
    public static final int NO_OP_SET = -1;

    /** The systemic context's id: index 0, generation 1. */
    public static final long SYSTEM_CONTEXT = 1L << 32;

    /** The wake callback's argument for the one call made on the engine thread at start. */
    public static final int WAKE_HELLO = -1;
    /** The wake callback's argument is this bit | a slot's index when the engine freed a slot with FREE_WAKE. */
    public static final int WAKE_SLOT = 0x80000000;

    public static long regionSize(int capacity) {
        return OFF_SLOTS + (long) capacity * SLOT_SIZE;
    }

    public static long slotOffset(long seq, long mask) {
        return OFF_SLOTS + (seq & mask) * SLOT_SIZE;
    }
}
