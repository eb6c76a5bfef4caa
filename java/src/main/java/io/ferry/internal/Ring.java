package io.ferry.internal;

import static io.ferry.internal.Layout.*;

import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.VarHandle;

/**
 * The producer side of the ring protocol of {@code native/include/ferry.h}, one method per step, the
 * memory ordering in each name. Every var handle on the shared region and every region offset the Java
 * side uses lives here; the callers (EngineCore, the wait loops, ParkedCall, AsyncCall) go through these
 * methods, and so do the jcstress tests.
 *
 * <p>A call, in protocol order:
 * <pre>
 *   seq = claimGetAndAdd()            one atomic add on the tail (negative: intake stopped)
 *   while (!isFreeAcquire(seq)) wait  back-pressure: the previous lap's caller has not released it
 *   write(seq, ...)                   plain stores of op, flags, ctx, arguments, input
 *   publishVolatile(seq, flags)       release of the stores above + StoreLoad before the next load
 *   if (engineSleepingVolatile()) wake
 *   until (stateAcquire(seq) is DONE) spin, or setFlagUnlessDone(seq, PARKED) and park
 *   resultPlain(seq) ...              plain loads, ordered by the acquire that saw DONE
 *   releaseRelease(seq)               FREE(seq + capacity): the next lap's producer may write
 * </pre>
 * A producer that cannot fill a claimed slot publishes {@link #abortVolatile} instead, so the engine,
 * which never skips a claimed slot, is not left waiting for it. A caller that gives a call up sets
 * GONE with {@link #setFlagUnlessDone} and reads {@link #startedVolatile} to tell "skipped" from "may be
 * running" (ferry.h, "Starting a call").
 *
 * <p>Only aligned var handles support atomic access modes: the region must be {@link Layout#ALIGNMENT}
 * aligned, which the constructor checks.
 */
public final class Ring {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    /** {@link #setFlagUnlessDone}'s answer when the call is DONE, or the slot serves another sequence. */
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

    /** Whether seq's slot reads FREE(seq). Pairs with {@link #releaseRelease} and the engine's release. */
    public boolean isFreeAcquire(long seq) {
        return (long) LONG.getAcquire(region, slot(seq)) == seq << SEQ_SHIFT;
    }

    /** The tail: the next sequence a claim takes (with the CLOSED bit once intake stopped). */
    public long tailVolatile() {
        return (long) LONG.getVolatile(region, TAIL);
    }

    /**
     * A producer waiting for FREE(seq) asks to be woken if the engine frees the slot itself (a given-up
     * call, an abort record): sets FREE_WAKE on the previous lap's state with a CAS, unless that lap is
     * not published yet (its producer's publish would overwrite the flag) or the slot moved on. The
     * engine frees a slot with an exchange, whose old value shows the flag: both are read-modify-writes
     * of the one word, so either the CAS comes first and the engine wakes us, or the CAS fails and our
     * re-check sees FREE.
     */
    public void requestFreeWake(long seq) {
        long previous = seq - capacity;
        long base = slot(seq);
        for (;;) {
            long st = (long) LONG.getAcquire(region, base);
            if ((st >>> SEQ_SHIFT) != previous || (st & PHASE_MASK) == PHASE_FREE || (st & FLAG_FREE_WAKE) != 0) {
                return;
            }
            if (LONG.compareAndSet(region, base, st, st | FLAG_FREE_WAKE)) {
                return;
            }
        }
    }

    /** The sequence of the PUBLISHED call in slot idx, or -1 if it holds none. */
    public long publishedSeqAcquire(int idx) {
        long st = (long) LONG.getAcquire(region, slotOffset(idx, mask));
        return (st & PHASE_MASK) == PHASE_PUBLISHED ? st >>> SEQ_SHIFT : -1;
    }

    /** The sequence slot idx is free for, or -1 if it holds a call (acquire: the slot may be written). */
    public long freeSeqAcquire(int idx) {
        long st = (long) LONG.getAcquire(region, slotOffset(idx, mask));
        return (st & 0xff) == 0 ? st >>> SEQ_SHIFT : -1;
    }

    // ---- write and publish -----------------------------------------------------------------------

    /** Plain stores of a claimed, free slot's call; made visible by the publish that follows. */
    public void write(long seq, int op, int callFlags, long ctx, long a, long b, long inPtr, long inLen) {
        long base = slot(seq);
        INT.set(region, base + SLOT_OP, op);
        INT.set(region, base + SLOT_FLAGS, callFlags);
        LONG.set(region, base + SLOT_CTX, ctx);
        LONG.set(region, base + SLOT_ARG0, a);
        LONG.set(region, base + SLOT_ARG1, b);
        if ((callFlags & (CALL_HAS_INPUT | CALL_BATCH)) != 0) {
            LONG.set(region, base + SLOT_IN_PTR, inPtr);
            LONG.set(region, base + SLOT_IN_LEN, inLen);
        }
    }

    /**
     * Publishes seq with a volatile store: it releases the plain stores of {@link #write} to the engine's
     * acquire load, and orders this store before the caller's next load of {@code sleeping} (the Dekker
     * pair with ferry__sleep in C).
     */
    public void publishVolatile(long seq, long stateFlags) {
        LONG.setVolatile(region, slot(seq), (seq << SEQ_SHIFT) | stateFlags | PHASE_PUBLISHED);
    }

    /**
     * Publishes seq with a release store only (pairs with the engine's acquire load). A batch publishes
     * its slots this way and then makes one {@link #fullFence} before {@link #engineSleepingVolatile}.
     */
    public void publishRelease(long seq) {
        LONG.setRelease(region, slot(seq), (seq << SEQ_SHIFT) | PHASE_PUBLISHED);
    }

    /** Orders the release publishes before it with the load of {@code sleeping} after it (StoreLoad). */
    public static void fullFence() {
        VarHandle.fullFence();
    }

    /**
     * Publishes an abort record for a claimed, free slot the producer could not fill: the engine skips
     * it, ignores its input fields and frees the slot itself. A volatile store, like {@link #publishVolatile}.
     * With FREE_WAKE, so that the engine's free wakes a producer queued for the slot, which could not set
     * the flag itself while the slot was unpublished.
     */
    public void abortVolatile(long seq) {
        INT.set(region, slot(seq) + SLOT_OP, OP_ABORT);
        LONG.setVolatile(region, slot(seq), (seq << SEQ_SHIFT) | FLAG_GONE | FLAG_FREE_WAKE | PHASE_PUBLISHED);
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

    /** seq's slot state word. Pairs with the engine's release (its acq_rel add) that made it DONE. */
    public long stateAcquire(long seq) {
        return (long) LONG.getAcquire(region, slot(seq));
    }

    /** Whether a state word is DONE(seq). */
    public static boolean isDone(long state, long seq) {
        return (state >>> SEQ_SHIFT) == seq && (state & PHASE_MASK) == PHASE_DONE;
    }

    /** Whether seq's call is DONE (an acquire load: the result's plain loads may follow). */
    public boolean isDoneAcquire(long seq) {
        return isDone(stateAcquire(seq), seq);
    }

    /**
     * Sets a flag (PARKED or GONE) on PUBLISHED(seq) with a CAS (a full fence), retried while the
     * engine moves nothing but the phase; returns the state it replaced, or {@link #DONE_OR_MOVED} if the
     * call is DONE, no longer seq's, or already has the flag.
     */
    public long setFlagUnlessDone(long seq, long flag) {
        long base = slot(seq);
        for (;;) {
            long st = (long) LONG.getAcquire(region, base);
            if ((st >>> SEQ_SHIFT) != seq || (st & PHASE_MASK) != PHASE_PUBLISHED || (st & flag) != 0) {
                return DONE_OR_MOVED;
            }
            if (LONG.compareAndSet(region, base, st, st | flag)) {
                return st;
            }
        }
    }

    /**
     * Gives seq's call up: sets GONE and FREE_WAKE on PUBLISHED(seq) in one CAS (a full fence), retried
     * while the engine moves nothing but the phase; returns the state it replaced, or {@link #DONE_OR_MOVED}
     * if the call is DONE, no longer seq's, or already GONE. FREE_WAKE because the engine frees a given-up
     * call's slot itself: the flag makes it wake the producers queued for that slot, including one that
     * queued before this call was published, or for a later lap, and so could not set it (defect 8). It
     * costs the engine one wake upcall per given-up call, which returns at once if no producer queues.
     */
    public long giveUpUnlessDone(long seq) {
        long base = slot(seq);
        for (;;) {
            long st = (long) LONG.getAcquire(region, base);
            if ((st >>> SEQ_SHIFT) != seq || (st & PHASE_MASK) != PHASE_PUBLISHED || (st & FLAG_GONE) != 0) {
                return DONE_OR_MOVED;
            }
            if (LONG.compareAndSet(region, base, st, st | FLAG_GONE | FLAG_FREE_WAKE)) {
                return st;
            }
        }
    }

    /**
     * Clears a flag (PARKED) on PUBLISHED(seq) with a CAS (a full fence) unless the call is DONE, given
     * up (GONE), no longer seq's, or lacks the flag; returns whether it cleared it. A joiner takes an async
     * call's outcome over this way: the engine's DONE add, on the same word, then shows no PARKED and
     * makes no wake upcall, so the outcome is the joiner's to take, as a spinning caller's is.
     */
    public boolean clearFlagUnlessDone(long seq, long flag) {
        long base = slot(seq);
        for (;;) {
            long st = (long) LONG.getAcquire(region, base);
            if ((st >>> SEQ_SHIFT) != seq || (st & PHASE_MASK) != PHASE_PUBLISHED || (st & FLAG_GONE) != 0
                    || (st & flag) == 0) {
                return false;
            }
            if (LONG.compareAndSet(region, base, st, st & ~flag)) {
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

    // ---- take the outcome (plain loads after the acquire that saw DONE) ---------------------------

    public int errPlain(long seq) {
        return (int) INT.get(region, slot(seq) + SLOT_ERR);
    }

    public long resultPlain(long seq) {
        return (long) LONG.get(region, slot(seq) + SLOT_RESULT);
    }

    public int outKindPlain(long seq) {
        return (int) INT.get(region, slot(seq) + SLOT_OUT_KIND);
    }

    public long outPtrPlain(long seq) {
        return (long) LONG.get(region, slot(seq) + SLOT_OUT_PTR);
    }

    public long outLenPlain(long seq) {
        return (long) LONG.get(region, slot(seq) + SLOT_OUT_LEN);
    }

    /** With OUT_ERROR: how many output bytes follow the message's NUL at out_ptr. */
    public long errOutLenPlain(long seq) {
        return (long) LONG.get(region, slot(seq) + SLOT_ERR_OUT_LEN);
    }

    /** Frees seq's slot for the next lap: FREE(seq + capacity). Pairs with {@link #isFreeAcquire}. */
    public void releaseRelease(long seq) {
        LONG.setRelease(region, slot(seq), (seq + capacity) << SEQ_SHIFT);
    }

    // ---- region-wide ------------------------------------------------------------------------------

    /** Whether the engine thread has stopped (its state word, acquire). */
    public boolean engineStoppedAcquire() {
        return (int) INT.getAcquire(region, ENGINE_STATE) == ENGINE_STOPPED;
    }

    /** Whether no slot holds a call (every phase FREE); used once the engine stopped. */
    public boolean allFreeAcquire() {
        for (int i = 0; i < capacity; i++) {
            if (((long) LONG.getAcquire(region, OFF_SLOTS + i * SLOT_SIZE) & 0xff) != 0) {
                return false;
            }
        }
        return true;
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
