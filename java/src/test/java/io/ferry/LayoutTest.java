package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.internal.FerryNative;
import io.ferry.internal.Layout;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The C header is the source of truth for the shared region: Java's mirror must match it field by field. */
class LayoutTest {
    /** What Java uses, by the names ferry_layout() gives C's fields: {offset, size}. */
    static Map<String, long[]> javaLayout() {
        Map<String, long[]> m = new HashMap<>();
        m.put("region.header", new long[] {Layout.OFF_HEADER, 128});
        m.put("region.tail", new long[] {Layout.OFF_TAIL, 128});
        m.put("region.engine", new long[] {Layout.OFF_ENGINE, 128});
        m.put("region.stats", new long[] {Layout.OFF_STATS, 128});
        m.put("region.slots", new long[] {Layout.OFF_SLOTS, Layout.SLOT_SIZE});
        m.put("header.magic", new long[] {Layout.HEADER_MAGIC, 8});
        m.put("header.version", new long[] {Layout.HEADER_VERSION, 4});
        m.put("header.capacity", new long[] {Layout.HEADER_CAPACITY, 4});
        m.put("header.slot_size", new long[] {Layout.HEADER_SLOT_SIZE, 4});
        m.put("header.region_size", new long[] {Layout.HEADER_REGION_SIZE, 8});
        m.put("tail.tail", new long[] {Layout.TAIL - Layout.OFF_TAIL, 8});
        m.put("engine.sleeping", new long[] {Layout.ENGINE_SLEEPING - Layout.OFF_ENGINE, 4});
        m.put("engine.state", new long[] {Layout.ENGINE_STATE - Layout.OFF_ENGINE, 4});
        m.put("stats.head", new long[] {Layout.STATS_HEAD - Layout.OFF_STATS, 8});
        m.put("stats.completed", new long[] {Layout.STATS_COMPLETED - Layout.OFF_STATS, 8});
        m.put("stats.started", new long[] {Layout.STATS_STARTED - Layout.OFF_STATS, 8});
        m.put("stats.call_ns", new long[] {Layout.STATS_CALL_NS - Layout.OFF_STATS, 8});
        m.put("slot.state", new long[] {Layout.SLOT_STATE, 8});
        m.put("slot.op", new long[] {Layout.SLOT_OP, 4});
        m.put("slot.flags", new long[] {Layout.SLOT_FLAGS, 4});
        m.put("slot.ctx", new long[] {Layout.SLOT_CTX, 8});
        m.put("slot.arg0", new long[] {Layout.SLOT_ARG0, 8});
        m.put("slot.arg1", new long[] {Layout.SLOT_ARG1, 8});
        m.put("slot.cell", new long[] {Layout.SLOT_CELL, 8});
        m.put("slot.in_ptr", new long[] {Layout.SLOT_IN_PTR, 8});
        m.put("slot.in_len", new long[] {Layout.SLOT_IN_LEN, 8});
        m.put("cell.state", new long[] {Layout.CELL_STATE, 8});
        m.put("cell.result", new long[] {Layout.CELL_RESULT, 8});
        m.put("cell.err", new long[] {Layout.CELL_ERR, 4});
        m.put("cell.out_kind", new long[] {Layout.CELL_OUT_KIND, 4});
        m.put("cell.out_ptr", new long[] {Layout.CELL_OUT_PTR, 8});
        m.put("cell.out_len", new long[] {Layout.CELL_OUT_LEN, 8});
        m.put("cell.err_out_len", new long[] {Layout.CELL_ERR_OUT_LEN, 8});
        m.put("cell.id", new long[] {Layout.CELL_ID, 4});
        m.put("batch_item.arg0", new long[] {Layout.BATCH_ITEM_ARG0, 8});
        m.put("batch_item.arg1", new long[] {Layout.BATCH_ITEM_ARG1, 8});
        m.put("batch_item.result", new long[] {Layout.BATCH_ITEM_RESULT, 8});
        m.put("batch_item.err", new long[] {Layout.BATCH_ITEM_ERR, 4});
        m.put("const.batch_item_size", new long[] {Layout.BATCH_ITEM_SIZE, 0});
        m.put("const.call_batch", new long[] {Layout.CALL_BATCH, 0});
        m.put("const.slot_size", new long[] {Layout.SLOT_SIZE, 0});
        m.put("const.cell_size", new long[] {Layout.CELL_SIZE, 0});
        m.put("const.wake_slot", new long[] {Layout.WAKE_SLOT & 0xffffffffL, 0});
        m.put("const.seq_shift", new long[] {Layout.SEQ_SHIFT, 0});
        m.put("const.flag_parked", new long[] {Layout.FLAG_PARKED, 0});
        m.put("const.flag_gone", new long[] {Layout.FLAG_GONE, 0});
        m.put("const.flag_free_wake", new long[] {Layout.FLAG_FREE_WAKE, 0});
        m.put("const.phase_published", new long[] {Layout.PHASE_PUBLISHED, 0});
        m.put("const.phase_done", new long[] {Layout.PHASE_DONE, 0});
        m.put("const.engine_stopped", new long[] {Layout.ENGINE_STOPPED, 0});
        m.put("const.call_has_input", new long[] {Layout.CALL_HAS_INPUT, 0});
        m.put("const.out_bytes", new long[] {Layout.OUT_BYTES, 0});
        m.put("const.out_error", new long[] {Layout.OUT_ERROR, 0});
        m.put("const.system_context_generation", new long[] {Layout.SYSTEM_CONTEXT >>> 32, 0});
        putConstants(m);
        return m;
    }

    /** The other constants both sides use, by their 32-bit patterns (C's table holds uint32_t). */
    private static void putConstants(Map<String, long[]> m) {
        Object[] constants = {
            "block", Layout.ALIGNMENT, "magic_lo", Layout.MAGIC & 0xffffffffL, "magic_hi", Layout.MAGIC >>> 32,
            "version", Layout.VERSION, "tail_closed_bit", Long.numberOfTrailingZeros(Layout.TAIL_CLOSED),
            "phase_mask", Layout.PHASE_MASK, "phase_free", Layout.PHASE_FREE,
            "engine_starting", Layout.ENGINE_STARTING, "engine_running", Layout.ENGINE_RUNNING,
            "engine_draining", Layout.ENGINE_DRAINING, "out_none", Layout.OUT_NONE, "op_abort", Layout.OP_ABORT,
            "op_in_bytes", Layout.OP_IN_BYTES, "op_out_bytes", Layout.OP_OUT_BYTES, "op_f64", Layout.OP_F64,
            "op_mutates", Layout.OP_MUTATES, "op_text", Layout.OP_TEXT, "op_system", Layout.OP_SYSTEM,
            "op_internal", Layout.OP_INTERNAL,
            "e_invalid", Layout.E_INVALID, "e_nomem", Layout.E_NOMEM, "e_init", Layout.E_INIT,
            "e_load", Layout.E_LOAD, "e_thread", Layout.E_THREAD, "e_timedout", Layout.E_TIMEDOUT,
            "e_exists", Layout.E_EXISTS, "e_unknown_op", Layout.E_UNKNOWN_OP, "e_closed", Layout.E_CLOSED,
            "e_context", Layout.E_CONTEXT, "e_denied", Layout.E_DENIED, "e_not_found", Layout.E_NOT_FOUND,
            "e_frozen", Layout.E_FROZEN, "e_permission", Layout.E_PERMISSION,
            "ctx_read_only", Layout.CTX_READ_ONLY, "ctx_open_private", Layout.CTX_OPEN_PRIVATE,
            "var_i64", Layout.VAR_I64, "var_f64", Layout.VAR_F64, "var_string", Layout.VAR_STRING,
            "var_bytes", Layout.VAR_BYTES, "no_op_set", Layout.NO_OP_SET, "wake_hello", Layout.WAKE_HELLO,
        };
        for (int i = 0; i < constants.length; i += 2) {
            long v = ((Number) constants[i + 1]).longValue();
            m.put("const." + constants[i], new long[] {v & 0xffffffffL, 0});
        }
    }

    /** C's table: name -> {offset, size}. */
    @SuppressWarnings("restricted")
    static Map<String, long[]> nativeLayout() {
        Map<String, long[]> m = new HashMap<>();
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            int n = FerryNative.ferry_layout(out);
            // struct ferry_layout_entry { const char *name; uint32_t offset; uint32_t size; }: 16 bytes
            MemorySegment table = out.get(ValueLayout.ADDRESS, 0).reinterpret(16L * n);
            for (int i = 0; i < n; i++) {
                String name = table.get(ValueLayout.ADDRESS, 16L * i).reinterpret(256).getString(0);
                long offset = Integer.toUnsignedLong(table.get(ValueLayout.JAVA_INT, 16L * i + 8));
                long size = Integer.toUnsignedLong(table.get(ValueLayout.JAVA_INT, 16L * i + 12));
                m.put(name, new long[] {offset, size});
            }
        }
        return m;
    }

    @Test
    void javaAndCAgreeOnEverySharedOffset() {
        Map<String, long[]> c = nativeLayout();
        Map<String, long[]> java = javaLayout();
        assertTrue(c.size() > 30, "C exports its layout table");
        assertEquals(new java.util.TreeSet<>(c.keySet()), new java.util.TreeSet<>(java.keySet()),
                "the same fields on both sides");
        for (var e : c.entrySet()) {
            long[] j = java.get(e.getKey());
            assertEquals(e.getValue()[0], j[0], e.getKey() + ": offset/value differs between ferry.h and Layout.java");
            assertEquals(e.getValue()[1], j[1], e.getKey() + ": size differs between ferry.h and Layout.java");
        }
    }

    @Test
    void regionSizeAgrees() {
        for (int cap : new int[] {1, 2, 1024, 1 << 20}) {
            assertEquals(Layout.regionSize(cap), FerryNative.ferry_region_size(cap));
        }
        assertEquals(0, FerryNative.ferry_region_size(3));
        assertEquals(0, FerryNative.ferry_region_size(0));
    }
}
