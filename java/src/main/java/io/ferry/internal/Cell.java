package io.ferry.internal;

import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/**
 * A completion cell (ferry.h, "Completion cell"): a 128-byte native line the engine writes a call's
 * outcome into, owned by one caller at a time ({@link Cells} hands them out). A sync caller keeps one
 * per engine for as long as its thread lives; an async call holds one until its outcome is taken.
 */
final class Cell {
    /** {@link #seq} while no call is in flight on the cell. */
    static final long IDLE = -1;
    private static final VarHandle SEQ;

    static {
        try {
            SEQ = MethodHandles.lookup().findVarHandle(Cell.class, "seq", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final MemorySegment line;
    final long address;
    final int id;
    /**
     * Who the engine's wake upcall for this cell wakes: the parked caller's Thread (set just before it
     * announces PARKED, cleared once it woke), or the AsyncCall the cell serves. Null otherwise, so an
     * idle cell keeps no thread reachable.
     */
    volatile Object waiter;
    /**
     * The sequence of the call in flight on this cell, or {@link #IDLE}: what close() gives up. Written
     * by the owner with release stores (plain on x86: nothing is added to a call's fast path), read by
     * close with acquire; a call close misses was claimed before intake stopped, and runs as usual.
     */
    @SuppressWarnings("unused") // accessed through SEQ
    private long seq = IDLE;
    /** While the cell waits in {@link Cells}' limbo: the given-up call whose DONE frees it. */
    long limboSeq = IDLE;

    Cell(MemorySegment line, int id) {
        this.line = line;
        this.address = line.address();
        this.id = id;
    }

    void startRelease(long s) {
        SEQ.setRelease(this, s);
    }

    void idleRelease() {
        SEQ.setRelease(this, IDLE);
    }

    long seqAcquire() {
        return (long) SEQ.getAcquire(this);
    }
}
