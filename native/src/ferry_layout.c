/*
 * ferry_layout.c: the shared region's layout as C sees it: the table Java's LayoutTest compares with
 * io.ferry.internal.Layout, and the region's size.
 */
#include "ferry_internal.h"

#include <stddef.h>


_Static_assert(sizeof(ferry_header) == FERRY_BLOCK, "header block");
_Static_assert(sizeof(ferry_tail_block) == FERRY_BLOCK, "tail block");
_Static_assert(sizeof(ferry_engine_block) == FERRY_BLOCK, "engine block");
_Static_assert(sizeof(ferry_stats_block) == FERRY_BLOCK, "stats block");
_Static_assert(offsetof(ferry_region, stats) == FERRY_OFF_STATS, "stats offset");
_Static_assert(sizeof(ferry_slot) == FERRY_SLOT_SIZE, "slot size");
_Static_assert(offsetof(ferry_region, tail) == FERRY_OFF_TAIL, "tail offset");
_Static_assert(offsetof(ferry_region, engine) == FERRY_OFF_ENGINE, "engine offset");
_Static_assert(offsetof(ferry_region, slots) == FERRY_OFF_SLOTS, "slots offset");
_Static_assert(offsetof(ferry_slot, in_len) + 8 <= 64, "a call fits the slot's first line");
_Static_assert(sizeof(ferry_cell) == FERRY_CELL_SIZE, "cell size");
_Static_assert(offsetof(ferry_cell, id) + 4 <= 64, "a cell's fields fit its first line");
_Static_assert(sizeof(ferry_batch_item) == 32, "batch item size");
_Static_assert((FERRY_PHASE_DONE & ~FERRY_PHASE_MASK) == 0, "DONE is a phase");

_Static_assert(FERRY_TAIL_CLOSED == UINT64_C(1) << 63, "const.tail_closed_bit");

#define FERRY__FIELD(prefix, type, field) \
    { prefix #field, (uint32_t)offsetof(type, field), (uint32_t)sizeof(((type *)0)->field) }

static const ferry_layout_entry ferry__layout[] = {
    { "region.header", FERRY_OFF_HEADER, sizeof(ferry_header) },
    { "region.tail", FERRY_OFF_TAIL, sizeof(ferry_tail_block) },
    { "region.engine", FERRY_OFF_ENGINE, sizeof(ferry_engine_block) },
    { "region.stats", FERRY_OFF_STATS, sizeof(ferry_stats_block) },
    { "region.slots", FERRY_OFF_SLOTS, sizeof(ferry_slot) },
    FERRY__FIELD("header.", ferry_header, magic),
    FERRY__FIELD("header.", ferry_header, version),
    FERRY__FIELD("header.", ferry_header, capacity),
    FERRY__FIELD("header.", ferry_header, slot_size),
    FERRY__FIELD("header.", ferry_header, region_size),
    FERRY__FIELD("tail.", ferry_tail_block, tail),
    FERRY__FIELD("engine.", ferry_engine_block, sleeping),
    FERRY__FIELD("engine.", ferry_engine_block, state),
    FERRY__FIELD("stats.", ferry_stats_block, head),
    FERRY__FIELD("stats.", ferry_stats_block, completed),
    FERRY__FIELD("stats.", ferry_stats_block, started),
    FERRY__FIELD("stats.", ferry_stats_block, call_ns),
    FERRY__FIELD("slot.", ferry_slot, state),
    FERRY__FIELD("slot.", ferry_slot, op),
    FERRY__FIELD("slot.", ferry_slot, flags),
    FERRY__FIELD("slot.", ferry_slot, ctx),
    FERRY__FIELD("slot.", ferry_slot, arg0),
    FERRY__FIELD("slot.", ferry_slot, arg1),
    FERRY__FIELD("slot.", ferry_slot, cell),
    FERRY__FIELD("slot.", ferry_slot, in_ptr),
    FERRY__FIELD("slot.", ferry_slot, in_len),
    FERRY__FIELD("cell.", ferry_cell, state),
    FERRY__FIELD("cell.", ferry_cell, result),
    FERRY__FIELD("cell.", ferry_cell, err),
    FERRY__FIELD("cell.", ferry_cell, out_kind),
    FERRY__FIELD("cell.", ferry_cell, out_ptr),
    FERRY__FIELD("cell.", ferry_cell, out_len),
    FERRY__FIELD("cell.", ferry_cell, err_out_len),
    FERRY__FIELD("cell.", ferry_cell, id),
    FERRY__FIELD("batch_item.", ferry_batch_item, arg0),
    FERRY__FIELD("batch_item.", ferry_batch_item, arg1),
    FERRY__FIELD("batch_item.", ferry_batch_item, result),
    FERRY__FIELD("batch_item.", ferry_batch_item, err),
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
    /* Every other constant both languages use, as its 32-bit pattern (negative codes two's complement). */
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

int32_t ferry_layout(const ferry_layout_entry **entries)
{
    if (entries)
        *entries = ferry__layout;
    return (int32_t)(sizeof(ferry__layout) / sizeof(ferry__layout[0]));
}

uint64_t ferry_region_size(uint32_t capacity)
{
    if (capacity == 0 || capacity > (1u << 24) || (capacity & (capacity - 1)) != 0)
        return 0;
    return FERRY_OFF_SLOTS + (uint64_t)capacity * FERRY_SLOT_SIZE;
}
