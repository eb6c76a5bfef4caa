package io.ferry.jcstress;

import static io.ferry.internal.Layout.CELL_SIZE;

import static io.ferry.internal.Layout.ALIGNMENT;
import static io.ferry.internal.Layout.SEQ_SHIFT;
import static io.ferry.internal.Layout.SLOT_STATE;
import static io.ferry.internal.Layout.STATS_STARTED;
import static io.ferry.internal.Layout.regionSize;
import static io.ferry.internal.Layout.slotOffset;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * What every test shares: a fresh shared region laid out by {@code io.ferry.internal.Layout} (the Java
 * mirror of {@code native/include/ferry.h}), the shipped producer's view of it ({@link #ring}: the
 * {@code io.ferry.internal.Ring} the library itself uses, so the Java actors run the code that ships),
 * and plain var handles for setting up a state before the actors run.
 *
 * <p>The engine's side is libferry's own C code wherever a test-only export reaches it ({@link
 * TestEngine}: one engine step, the sleep announcement, the stop). Where a test must look at what the
 * engine read, which the real step does not report, a Java actor plays the engine with the var handle
 * access mode of the same ordering as the C11 atomics in {@code native/src}:
 * <pre>
 *   C11 (native/src)                           Java (these tests)
 *   atomic_store / load  memory_order_seq_cst  setVolatile / getVolatile
 *   atomic_fetch_add     memory_order_acq_rel  getAndAdd            (volatile: at least acq_rel)
 *   atomic_compare_exchange  acq_rel          compareAndSet        (volatile)
 *   atomic_fetch_or      memory_order_seq_cst  getAndBitwiseOr      (volatile)
 *   atomic_load          memory_order_acquire  getAcquire
 *   atomic_store         memory_order_release  setRelease
 *   plain field access (s-&gt;result = ...)      set / get            (plain)
 * </pre>
 *
 * <p>Regions come from 128-byte aligned chunks of {@link Arena#ofAuto()} memory, sliced one region per
 * jcstress state object; a region is a multiple of 128 bytes, so every slice keeps Ferry's alignment
 * (each hot word alone on its 128-byte block). A chunk is freed by the GC once no state holds a slice.
 * Allocating one native segment per state object instead would make the harness, not the actors, the
 * bottleneck.
 */
final class Regions {
    private Regions() {
    }

    /** Setup and arbiter reads only: the actors use {@link #ring}. */
    static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();

    /** Two slots: enough for a slot's lap to wrap (seq and seq + CAPACITY share slot 0). */
    static final int CAPACITY = 2;
    static final long MASK = CAPACITY - 1;
    static final long REGION_SIZE = regionSize(CAPACITY);

    /** The sequence the tests' calls use: slot 0, second lap (so seq != the slot index). */
    static final long SEQ = CAPACITY;
    /** Byte offset of SEQ's slot (its state word is at offset SLOT_STATE = 0 within it). */
    static final long SLOT = slotOffset(SEQ, MASK) + SLOT_STATE;
    /** Byte offset of {@code stats.started} (seq + 1 of the last call the engine started). */
    static final long STARTED = STATS_STARTED;

    private static final int REGIONS_PER_CHUNK = 512;
    private static MemorySegment chunk;
    private static int nextInChunk = REGIONS_PER_CHUNK;

    static {
        if (REGION_SIZE % ALIGNMENT != 0) {
            throw new AssertionError("region size " + REGION_SIZE + " is not a multiple of " + ALIGNMENT);
        }
    }

    /** A zeroed region with every slot i in FREE(i), as ferry_engine_start leaves it. */
    static synchronized MemorySegment newRegion() {
        if (nextInChunk == REGIONS_PER_CHUNK) {
            chunk = Arena.ofAuto().allocate(REGION_SIZE * REGIONS_PER_CHUNK, ALIGNMENT);
            nextInChunk = 0;
        }
        MemorySegment region = chunk.asSlice(REGION_SIZE * nextInChunk++, REGION_SIZE);
        for (int i = 0; i < CAPACITY; i++) {
            LONG.set(region, slotOffset(i, MASK) + SLOT_STATE, (long) i << SEQ_SHIFT);
        }
        return region;
    }

    private static final int CELLS_PER_CHUNK = 512;
    private static MemorySegment cellChunk;
    private static int nextCell = CELLS_PER_CHUNK;

    /**
     * A completion cell (ferry.h), zeroed (a state that is no call's), numbered 0, 128-byte aligned, in
     * chunks of {@link Arena#ofAuto()} memory as the regions are.
     */
    static synchronized MemorySegment newCell() {
        if (nextCell == CELLS_PER_CHUNK) {
            cellChunk = Arena.ofAuto().allocate(CELL_SIZE * CELLS_PER_CHUNK, ALIGNMENT);
            nextCell = 0;
        }
        MemorySegment cell = cellChunk.asSlice(CELL_SIZE * nextCell++, CELL_SIZE);
        io.ferry.internal.Ring.initCellPlain(cell, 0);
        return cell;
    }

    /** The shipped producer's protocol on a region of {@link #CAPACITY} slots. */
    static io.ferry.internal.Ring ring(MemorySegment region) {
        return new io.ferry.internal.Ring(region, CAPACITY);
    }

    /** A slot state word: seq &lt;&lt; 8 | flags | phase. */
    static long state(long seq, long flags, long phase) {
        return (seq << SEQ_SHIFT) | flags | phase;
    }
}
