package io.ferry.internal;

import static io.ferry.internal.Layout.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The producer side of the ring protocol of {@code native/include/ferry.h}, one method per step, the
 * memory ordering in each name. Every var handle on the shared region and on the completion cells, and
 * every offset the Java side uses, lives here; the callers (Submission, the wait loops, AsyncCall,
 * Shutdown) go through these methods, and so do the jcstress tests.
 *
 * <p>A call, in protocol order:
 * <pre>
 *   seq = claimGetAndAdd()              one atomic add on the tail (negative: intake stopped)
 *   while (!isFreeAcquire(seq)) wait    back-pressure: the engine has not yet taken the previous lap
 *   write(seq, ..., cell)               plain stores of op, flags, ctx, arguments, cell, input
 *   publishVolatile(seq)                an exchange: releases the stores above, keeps a FREE_WAKE a
 *                                       waiter set, and orders it before the next load of sleeping
 *   if (engineSleepingVolatile()) wake
 *   until (isDone(cellStateAcquire(cell), seq)) spin, or setCellFlagUnlessDone(cell, seq, PARKED), park
 *   cellResultPlain(cell) ...           plain loads, ordered by the acquire that saw DONE
 * </pre>
 * The engine frees the slot itself when it takes the call, so the caller never releases anything: its
 * cell is free again once it has read the outcome. A producer that cannot fill a claimed slot publishes
 * {@link #abortVolatile} instead, so the engine, which never skips a claimed slot, is not left waiting for
 * it. A caller that gives a call up sets GONE on its cell ({@link #giveUpCellUnlessDone}), then on the
 * slot if the call is still queued ({@link #giveUpQueued}), and reads {@link #startedVolatile} to tell
 * "skipped" from "may be running" (ferry.h, "Starting a call").
 *
 * <p>Only aligned var handles support atomic access modes: the region must be {@link Layout#ALIGNMENT}
 * aligned, which the constructor checks, and so must every cell.
 */
public final class Ring {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    /** {@link #setCellFlagUnlessDone}'s answer when the call is DONE, given up, or the cell moved on. */
    public static final long DONE_OR_MOVED = -1;

    private final MemorySegment region;
    private final int capacity;
    private final long mask;

    /** The producer's view of a region laid out for {@code capacity} slots (a power of two). */
    public Ring(MemorySegment region, int capacity) {
        if (region.address() % ALIGNMENT != 0) {
            throw new IllegalArgumentException("region address=" + region.address() + ": not " + ALIGNMENT
                    + "-byte aligned");
        }
        this.region = region;
        this.capacity = capacity;
        this.mask = capacity - 1;
    }

    public int capacity() {
        return capacity;
    }

    /** The slot index that serves seq (the wake upcall's argument). */
    public int index(long seq) {
        return (int) (seq & mask);
    }

    private long slot(long seq) {
        return slotOffset(seq, mask);
    }

    // ---- claim -----------------------------------------------------------------------------------

    /** The multi-producer claim: one atomic add on the tail. A negative result means intake stopped. */
    public long claimGetAndAdd(int slots) {
        return (long) LONG.getAndAdd(region, TAIL, (long) slots);
    }

    /**
     * Claims the tail only if its slot is already free (a CAS on the tail), so the caller never waits
     * after its claim. Returns the sequence, {@link #FULL} if the tail's slot is still held, or a negative
     * value other than FULL (the tail with its CLOSED bit) if intake stopped.
     */
    public long tryClaimCas() {
        for (;;) {
            long t = (long) LONG.getVolatile(region, TAIL);
            if (t < 0) {
                return t;
            }
            if (!isFreeAcquire(t)) {
                // Either the slot's previous caller has not released it (full), or another producer
                // just claimed t: re-read the tail to tell the two apart.
                if ((long) LONG.getVolatile(region, TAIL) == t) {
                    return FULL;
                }
                continue;
            }
            if (LONG.compareAndSet(region, TAIL, t, t + 1)) {
                return t;
            }
        }
    }

    /** {@link #tryClaimCas}'s answer when the tail's slot is still held. */
    public static final long FULL = -1;

    /** Whether seq's slot reads FREE(seq): the engine took the previous lap's call (pairs with its exchange). */
    public boolean isFreeAcquire(long seq) {
        return isFree((long) LONG.getAcquire(region, slot(seq)), seq);
    }

    /** Whether a slot state is FREE(seq), with or without a waiter's FREE_WAKE. */
    private static boolean isFree(long state, long seq) {
        return (state & ~FLAG_FREE_WAKE) == seq << SEQ_SHIFT;
    }

    /** The tail: the next sequence a claim takes (with the CLOSED bit once intake stopped). */
    public long tailVolatile() {
        return (long) LONG.getVolatile(region, TAIL);
    }

    /**
     * A producer waiting for FREE(seq) asks to be woken when the engine frees the slot: sets FREE_WAKE on
     * the state of whatever earlier lap the slot serves (FREE or PUBLISHED) with a CAS, unless it is free
     * for seq already. A waiter more than one lap behind is woken by the free of an earlier lap and asks
     * again ({@link BackPressure} wakes every waiter of the slot's later laps). The previous
     * lap's publish is an exchange that keeps the flag, and the engine frees a slot with an exchange whose
     * old value shows it: all are read-modify-writes of the one word, so either the CAS comes first and
     * the engine wakes us, or the CAS fails and our re-check sees FREE.
     */
    public void requestFreeWake(long seq) {
        long base = slot(seq);
        for (;;) {
            long st = (long) LONG.getAcquire(region, base);
            if ((st >>> SEQ_SHIFT) >= seq || (st & FLAG_FREE_WAKE) != 0) {
                return;
            }
            if (LONG.compareAndSet(region, base, st, st | FLAG_FREE_WAKE)) {
                return;
            }
        }
    }

    /**
     * The sequence slot idx serves now, free or published (acquire). Read after the engine freed the slot:
     * by then a producer may already have published the freed lap, so the phase says nothing.
     */
    public long slotSeqAcquire(int idx) {
        return (long) LONG.getAcquire(region, slotOffset(idx, mask)) >>> SEQ_SHIFT;
    }

    // ---- write and publish -----------------------------------------------------------------------

    /** Plain stores of a claimed, free slot's call; made visible by the publish that follows. */
    public void write(long seq, int op, int callFlags, long ctx, long a, long b, long cell, long inPtr, long inLen) {
        long base = slot(seq);
        INT.set(region, base + SLOT_OP, op);
        INT.set(region, base + SLOT_FLAGS, callFlags);
        LONG.set(region, base + SLOT_CTX, ctx);
        LONG.set(region, base + SLOT_ARG0, a);
        LONG.set(region, base + SLOT_ARG1, b);
        LONG.set(region, base + SLOT_CELL, cell);
        if ((callFlags & (CALL_HAS_INPUT | CALL_BATCH)) != 0) {
            LONG.set(region, base + SLOT_IN_PTR, inPtr);
            LONG.set(region, base + SLOT_IN_LEN, inLen);
        }
    }

    /**
     * Publishes seq with a CAS (volatile): it releases the plain stores of {@link #write} to the
     * engine's acquire load, keeps a FREE_WAKE that a producer waiting for the next lap set on the free
     * state, and orders this store before the caller's next load of {@code sleeping} (the Dekker pair
     * with ferry__sleep in C). The slot's line is already this thread's (it has just written the call),
     * so the CAS costs what a volatile store does.
     */
    public void publishVolatile(long seq) {
        long base = slot(seq);
        long published = (seq << SEQ_SHIFT) | PHASE_PUBLISHED;
        for (;;) {
            long st = (long) LONG.getAcquire(region, base);
            if (LONG.compareAndSet(region, base, st, published | (st & FLAG_FREE_WAKE))) {
                return;
            }
        }
    }

    /**
     * Publishes an abort record for a claimed, free slot the producer could not fill: the engine skips
     * it and ignores its cell and input fields. An exchange, like {@link #publishVolatile}.
     */
    public void abortVolatile(long seq) {
        INT.set(region, slot(seq) + SLOT_OP, OP_ABORT);
        publishVolatile(seq);
    }

    /** The engine's {@code sleeping} word, read after a publish's StoreLoad: non-zero means wake it. */
    public boolean engineSleepingVolatile() {
        return (int) INT.getVolatile(region, ENGINE_SLEEPING) != 0;
    }

    // ---- wait for the outcome --------------------------------------------------------------------

    /** Whether close() has freed the region: every access to it now throws IllegalStateException. */
    public boolean freed() {
        return !region.scope().isAlive();
    }

    /** seq's slot state word (acquire). */
    public long stateAcquire(long seq) {
        return (long) LONG.getAcquire(region, slot(seq));
    }

    /**
     * Gives seq's call up while it is queued: sets GONE on PUBLISHED(seq) with a CAS (a full fence), so
     * the engine skips it; false if the engine has already taken it (the slot moved on) or it is GONE.
     * Comes after {@link #giveUpCellUnlessDone}, which decides whether the call is given up at all.
     */
    public boolean giveUpQueued(long seq) {
        long base = slot(seq);
        for (;;) {
            long st = (long) LONG.getAcquire(region, base);
            if ((st >>> SEQ_SHIFT) != seq || (st & PHASE_MASK) != PHASE_PUBLISHED || (st & FLAG_GONE) != 0) {
                return false;
            }
            if (LONG.compareAndSet(region, base, st, st | FLAG_GONE)) {
                return true;
            }
        }
    }

    /**
     * seq + 1 of the last call the engine started, read after a GONE CAS: {@code <= seq} means the
     * engine will skip seq (the Dekker pair with ferry__start_gone's seq_cst store and re-load).
     */
    public long startedVolatile() {
        return (long) LONG.getVolatile(region, STATS_STARTED);
    }

    /** stats.started as a hint (no ordering): how far the engine has got. */
    public long startedOpaque() {
        return (long) LONG.getOpaque(region, STATS_STARTED);
    }

    /** stats.call_ns as a hint (no ordering): what a call took the engine lately, 0 until measured. */
    public long callNsOpaque() {
        return (long) LONG.getOpaque(region, STATS_CALL_NS);
    }

    // ---- completion cells (caller-owned lines the engine writes the outcome into) ----------------

    /** A cell's state word. Pairs with the engine's release (its acq_rel CAS) that made it DONE. */
    public static long cellStateAcquire(MemorySegment cell) {
        return (long) LONG.getAcquire(cell, CELL_STATE);
    }

    /** Whether a cell state is DONE(seq) (GONE may be set: close gave the call up while it ran). */
    public static boolean isDone(long state, long seq) {
        return (state >>> SEQ_SHIFT) == seq && (state & PHASE_MASK) == PHASE_DONE;
    }

    /** Whether the cell's call seq is DONE (an acquire load: the outcome's plain loads may follow). */
    public static boolean isCellDoneAcquire(MemorySegment cell, long seq) {
        return isDone(cellStateAcquire(cell), seq);
    }

    /** Whether a cell state says seq's call was given up (GONE for seq, DONE or not). */
    public static boolean isGone(long state, long seq) {
        return (state >>> SEQ_SHIFT) == seq && (state & FLAG_GONE) != 0;
    }

    /**
     * Sets a flag (PARKED or GONE) for seq on the cell with a CAS (a full fence), unless seq's call is
     * DONE, GONE already, or the cell moved on to a later call. A state for an earlier seq is the cell's
     * previous call's: it becomes {@code seq << 8 | flag | PUBLISHED}. Returns the state it replaced, or
     * {@link #DONE_OR_MOVED}. The engine's DONE CAS keeps the flags it finds for seq, so either our CAS
     * comes first and the engine sees the flag, or it fails and we see DONE.
     */
    public static long setCellFlagUnlessDone(MemorySegment cell, long seq, long flag) {
        for (;;) {
            long st = (long) LONG.getAcquire(cell, CELL_STATE);
            long s = st >>> SEQ_SHIFT;
            long flags;
            if (s < seq) {
                flags = 0;
            } else if (s == seq && (st & PHASE_MASK) != PHASE_DONE && (st & FLAG_GONE) == 0 && (st & flag) == 0) {
                flags = st & (FLAG_PARKED | FLAG_GONE);
            } else {
                return DONE_OR_MOVED;
            }
            if (LONG.compareAndSet(cell, CELL_STATE, st, (seq << SEQ_SHIFT) | flags | flag | PHASE_PUBLISHED)) {
                return st;
            }
        }
    }

    /** Gives seq's call up on its cell: GONE unless DONE (see {@link #setCellFlagUnlessDone}). */
    public static long giveUpCellUnlessDone(MemorySegment cell, long seq) {
        return setCellFlagUnlessDone(cell, seq, FLAG_GONE);
    }

    /**
     * Clears PARKED for seq with a CAS (a full fence) unless the call is DONE, given up, or lacks the
     * flag; returns whether it cleared it. A joiner takes an async call's outcome over this way: the
     * engine's DONE CAS then shows no PARKED and makes no wake upcall, so the outcome is the joiner's.
     */
    public static boolean clearCellParkedUnlessDone(MemorySegment cell, long seq) {
        for (;;) {
            long st = (long) LONG.getAcquire(cell, CELL_STATE);
            if ((st >>> SEQ_SHIFT) != seq || (st & PHASE_MASK) == PHASE_DONE || (st & FLAG_GONE) != 0
                    || (st & FLAG_PARKED) == 0) {
                return false;
            }
            if (LONG.compareAndSet(cell, CELL_STATE, st, st & ~FLAG_PARKED)) {
                return true;
            }
        }
    }

    /** An async call's cell before its publish (a plain store the publish releases): PARKED for seq. */
    public static void armParkedPlain(MemorySegment cell, long seq) {
        LONG.set(cell, CELL_STATE, (seq << SEQ_SHIFT) | FLAG_PARKED | PHASE_PUBLISHED);
    }

    /** A new cell: its number (the wake callback's argument) and a state that is no call's. Plain. */
    public static void initCellPlain(MemorySegment cell, int id) {
        LONG.set(cell, CELL_STATE, 0L);
        INT.set(cell, CELL_ID, id);
    }

    // ---- take the outcome (plain loads after the acquire that saw DONE) ---------------------------

    public static int errPlain(MemorySegment cell) {
        return (int) INT.get(cell, CELL_ERR);
    }

    public static long resultPlain(MemorySegment cell) {
        return (long) LONG.get(cell, CELL_RESULT);
    }

    public static int outKindPlain(MemorySegment cell) {
        return (int) INT.get(cell, CELL_OUT_KIND);
    }

    public static long outPtrPlain(MemorySegment cell) {
        return (long) LONG.get(cell, CELL_OUT_PTR);
    }

    public static long outLenPlain(MemorySegment cell) {
        return (long) LONG.get(cell, CELL_OUT_LEN);
    }

    /**
     * Restores the cell's invariant after its outcome was taken (ferry.h: err 0 and out_kind NONE
     * between calls, so the engine writes a plain call's result with one store). Plain: before the
     * owner's next publish, which releases it.
     */
    public static void resetOutcomePlain(MemorySegment cell) {
        INT.set(cell, CELL_ERR, 0);
        INT.set(cell, CELL_OUT_KIND, OUT_NONE);
    }

    /** With OUT_ERROR: how many output bytes follow the message's NUL at out_ptr. */
    public static long errOutLenPlain(MemorySegment cell) {
        return (long) LONG.get(cell, CELL_ERR_OUT_LEN);
    }

    // ---- region-wide ------------------------------------------------------------------------------

    /** Whether the engine thread has stopped (its state word, acquire). */
    public boolean engineStoppedAcquire() {
        return (int) INT.getAcquire(region, ENGINE_STATE) == ENGINE_STOPPED;
    }

    /** Whether the engine wrote the header this jar expects (plain loads after the start handshake). */
    public boolean headerMatches() {
        return (long) LONG.get(region, HEADER_MAGIC) == MAGIC && (int) INT.get(region, HEADER_VERSION) == VERSION;
    }

    // ---- batch items (caller-owned native arrays the engine reads and writes in the slot's turn) ----

    public static void itemArgs(MemorySegment items, int i, long a, long b) {
        long item = i * BATCH_ITEM_SIZE;
        LONG.set(items, item + BATCH_ITEM_ARG0, a);
        LONG.set(items, item + BATCH_ITEM_ARG1, b);
    }

    public static long itemResult(MemorySegment items, int i) {
        return (long) LONG.get(items, i * BATCH_ITEM_SIZE + BATCH_ITEM_RESULT);
    }
}
