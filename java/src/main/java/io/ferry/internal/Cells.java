package io.ferry.internal;

import static io.ferry.internal.Layout.CELL_SIZE;

import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.Arrays;

/**
 * An engine's completion cells: allocated in chunks from the engine's arena (so they live exactly as
 * long as its region, and an access after close throws rather than touching freed memory), numbered
 * for the wake upcall, and pooled. A cell is lent to a caller thread ({@link SlotWaiter}) or to an async
 * call and given back once no engine write to it can still come: after its owner read the outcome, or,
 * for a call given up, once the engine's DONE for that call shows on it ({@link #retire}: the limbo).
 * Nothing here is on a call's fast path: a thread takes its cell on its first call of the engine.
 */
final class Cells {
    /** Cells per chunk: 8 KB of native memory. */
    private static final int CHUNK = 64;

    private final Arena arena;
    /** By id, for the wake upcall (a volatile read, no lock); grown by copy under the lock. */
    private volatile Cell[] byId = new Cell[0];
    private final ArrayDeque<Cell> free = new ArrayDeque<>();
    private final ArrayList<Cell> limbo = new ArrayList<>();

    Cells(Arena arena) {
        this.arena = arena;
        // The first chunk now, on the thread that starts the engine: Cell and SlotWaiter (its Cleaner) are
        // initialised here, not by the first calls, where virtual threads waiting for another thread's
        // class initialisation would pin their carriers (StressTest saw it).
        synchronized (this) {
            grow();
        }
        SlotWaiter.current();
    }

    /** The cell numbered id, or null. On the engine thread, from the wake upcall. */
    Cell byId(int id) {
        Cell[] t = byId;
        return id >= 0 && id < t.length ? t[id] : null;
    }

    /** Every cell made so far (for close, which gives up the calls in flight on them). */
    Cell[] all() {
        return byId;
    }

    /** Lends a cell: a free one, one the limbo can let go, or a new chunk's. */
    synchronized Cell take() {
        Cell c = free.pollFirst();
        if (c == null && !limbo.isEmpty()) {
            reclaimLimbo();
            c = free.pollFirst();
        }
        if (c == null) {
            grow();
            c = free.pollFirst();
        }
        return c;
    }

    /** Gives back a cell no engine write can still reach (its last call's outcome was taken). */
    synchronized void give(Cell c) {
        c.waiter = null;
        c.idleRelease();
        free.addFirst(c); // the most recently used line is the one most likely still cached
    }

    /** Gives back a cell whose call seq was given up: it is free again once the engine's DONE(seq) shows. */
    synchronized void retire(Cell c, long seq) {
        c.waiter = null;
        c.idleRelease();
        c.limboSeq = seq;
        limbo.add(c);
    }

    /** Whether a call is in flight on any cell (close waits, bounded, for callers to take their outcomes). */
    boolean anyInFlight() {
        for (Cell c : byId) {
            if (c.seqAcquire() != Cell.IDLE) {
                return true;
            }
        }
        return false;
    }

    private void reclaimLimbo() {
        for (int i = limbo.size() - 1; i >= 0; i--) {
            Cell c = limbo.get(i);
            if (Ring.isCellDoneAcquire(c.line, c.limboSeq)) {
                c.limboSeq = Cell.IDLE;
                limbo.set(i, limbo.get(limbo.size() - 1));
                limbo.remove(limbo.size() - 1);
                free.addLast(c);
            }
        }
    }

    private void grow() {
        Cell[] t = byId;
        MemorySegment chunk = arena.allocate(CHUNK * CELL_SIZE, CELL_SIZE);
        Cell[] grown = Arrays.copyOf(t, t.length + CHUNK);
        for (int i = 0; i < CHUNK; i++) {
            int id = t.length + i;
            MemorySegment line = chunk.asSlice(i * CELL_SIZE, CELL_SIZE);
            Ring.initCellPlain(line, id);
            Cell c = new Cell(line, id);
            grown[id] = c;
            free.addLast(c);
        }
        byId = grown; // a volatile store: publishes the cells (and their ids in native memory) to the upcall
    }
}
