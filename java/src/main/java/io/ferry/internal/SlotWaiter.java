package io.ferry.internal;

import java.lang.ref.Cleaner;

/**
 * A calling thread's state, fetched once per call (one ThreadLocal read): its place in {@link
 * BackPressure}'s queue while it waits for its claimed sequence's slot to be free, or ({@link
 * #UNCLAIMED}) for its turn to claim; and the completion cell it has on lease from the engine it calls
 * ({@link #cell}). Each thread reuses one instance, so that waiting between a claim and its publish
 * allocates nothing; a thread waits for one slot at a time. The links and {@link #seq} are guarded by
 * the queue's lock.
 */
final class SlotWaiter {
    /** {@link #seq} of a producer that has not claimed yet (a timed call, or one behind such). */
    static final long UNCLAIMED = -1;
    private static final ThreadLocal<SlotWaiter> CACHE = new ThreadLocal<>();
    /** Gives a dead thread's cell back to its engine. */
    private static final Cleaner CLEANER = Cleaner.create(r -> {
        Thread t = new Thread(r, "ferry-cell-cleaner");
        t.setDaemon(true);
        return t;
    });

    final Thread thread;
    long seq = UNCLAIMED;
    SlotWaiter prev;
    SlotWaiter next;
    boolean queued;
    /** The cell on lease, and its engine's pool: a separate object, so the Cleaner can reach it. */
    private final Lease lease = new Lease();
    private boolean cleanerRegistered;

    private SlotWaiter(Thread thread) {
        this.thread = thread;
    }

    /** This thread's instance; allocates on a thread's first call only. */
    static SlotWaiter current() {
        SlotWaiter w = CACHE.get();
        if (w == null) {
            w = new SlotWaiter(Thread.currentThread());
            CACHE.set(w);
        }
        return w;
    }

    /**
     * This thread's cell for the engine whose pool is {@code cells}: the one on lease, or (first call, or
     * a call to another engine than the last one) one taken from the pool, the previous one given back.
     */
    Cell cell(Cells cells) {
        Lease l = lease;
        if (l.cells == cells) {
            return l.cell;
        }
        return lease(cells);
    }

    private Cell lease(Cells cells) {
        Lease l = lease;
        Cell c = cells.take();
        l.release();
        l.cells = cells;
        l.cell = c;
        if (!cleanerRegistered) {
            cleanerRegistered = true;
            CLEANER.register(this, l);
        }
        return c;
    }

    /**
     * This thread gave its call seq up while the engine may still write the outcome: the cell goes to
     * the limbo until it does, and the next call takes another.
     */
    void retireCell(long seq) {
        Lease l = lease;
        if (l.cells != null) {
            l.cells.retire(l.cell, seq);
            l.cells = null;
            l.cell = null;
        }
    }

    /** The cell on lease: given back when its thread is gone, or when the thread moves to another engine. */
    private static final class Lease implements Runnable {
        Cells cells;
        Cell cell;

        void release() {
            if (cells != null) {
                long inFlight = cell.seqAcquire();
                if (inFlight == Cell.IDLE) {
                    cells.give(cell);
                } else {
                    cells.retire(cell, inFlight); // the thread died with a call in flight
                }
                cells = null;
                cell = null;
            }
        }

        /** The Cleaner's action, once the thread (and so its SlotWaiter) is unreachable. */
        @Override
        public void run() {
            release();
        }
    }
}
