package io.ferry.internal;

import static io.ferry.internal.Layout.ALIGNMENT;
import static io.ferry.internal.Layout.BATCH_ITEM_SIZE;
import static io.ferry.internal.Layout.CALL_BATCH;

import io.ferry.CallFailedException;
import io.ferry.EngineClosedException;
import io.ferry.Op;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeoutException;

/**
 * Many calls of one op: the calls travel as compact 32-byte items in a native array this thread reuses,
 * {@value #ITEMS_PER_SLOT} per slot, so a call of a batch costs the engine a few sequential loads and
 * stores instead of a slot's two cache lines, and the producer one claim per group of slots.
 */
final class Batch {
    /** Calls of a batch carried by one slot: the engine runs them back to back in one turn. */
    static final int ITEMS_PER_SLOT = 256;
    /** Slots a batch fills before it waits for them (at most the ring's capacity). */
    private static final int SLOTS_PER_GROUP = 16;
    /** Each thread's batch items, in native memory the GC frees once the thread is gone. */
    private static final ThreadLocal<MemorySegment> ITEMS = new ThreadLocal<>();
    /** Item buffers an abandoned engine may still write into: never freed. */
    private static final Queue<MemorySegment> ABANDONED_ITEMS = new ConcurrentLinkedQueue<>();

    private final Ring ring;
    private final BackPressure backPressure;
    private final Submission submission;
    private final CallWait wait;
    private final Cells cells;

    Batch(Ring ring, BackPressure backPressure, Submission submission, CallWait wait, Cells cells) {
        this.ring = ring;
        this.backPressure = backPressure;
        this.submission = submission;
        this.wait = wait;
        this.cells = cells;
    }

    /**
     * Per group of up to {@value #SLOTS_PER_GROUP} slots: write the items, claim the slots with one
     * atomic add, write them, each with a completion cell of its own, publish them last to first (the
     * engine, which waits on the first, then finds the whole group ready and never races this producer
     * for a slot's line), then wait on the group's last cell first (the engine finishes slots in order)
     * and read the results. If calls fail, the rest of their group still completes and
     * the first failure is thrown; later groups are not submitted.
     */
    void call(Op op, long ctx, long[] a, long[] b, long[] results) {
        int n = results.length;
        if (a.length < n || (b != null && b.length < n)) {
            throw new IllegalArgumentException("callBatch: " + n + " results but " + a.length + " first and "
                    + (b == null ? "no" : String.valueOf(b.length)) + " second arguments");
        }
        int groupItems = Math.min(ring.capacity(), SLOTS_PER_GROUP) * ITEMS_PER_SLOT;
        MemorySegment items = items((int) Math.min(n, groupItems));
        for (int done = 0; done < n; ) {
            int count = Math.min(n - done, groupItems);
            for (int i = 0; i < count; i++) {
                Ring.itemArgs(items, i, a[done + i], b == null ? 0 : b[done + i]);
            }
            RuntimeException failure = submitAndAwait(op, ctx, items, count);
            for (int i = 0; i < count; i++) {
                results[done + i] = Ring.itemResult(items, i);
            }
            if (failure != null) {
                throw failure;
            }
            done += count;
        }
    }

    /**
     * One group: claims, writes and publishes its slots, waits for them; returns the first failure.
     * From the claim to the last publish is one guarded span, as in {@link Submission}: if anything
     * throws there, every slot not yet published gets an abort record.
     */
    private RuntimeException submitAndAwait(Op op, long ctx, MemorySegment items, int count) {
        int k = (count + ITEMS_PER_SLOT - 1) / ITEMS_PER_SLOT;
        SlotWaiter w = SlotWaiter.current(); // before the claim: the span must not allocate
        Cell[] group = new Cell[k];
        for (int i = 0; i < k; i++) {
            group[i] = cells.take();
        }
        long first = backPressure.claim(k);
        int unpublished = k; // slots first .. first + unpublished - 1 are not published yet
        try {
            for (int i = 0; i < k; i++) {
                long seq = first + i;
                if (!backPressure.awaitFree(seq, w)) {
                    throw new EngineClosedException("engine stopped before a slot became free");
                }
                group[i].startRelease(seq);
                ring.write(seq, op.id(), CALL_BATCH, ctx, 0, 0, group[i].address,
                        items.address() + (long) i * ITEMS_PER_SLOT * BATCH_ITEM_SIZE,
                        Math.min(ITEMS_PER_SLOT, count - i * ITEMS_PER_SLOT));
            }
            for (int i = k - 1; i >= 0; i--) {
                ring.publishVolatile(first + i);
                unpublished = i;
            }
        } finally {
            for (int i = 0; i < unpublished; i++) {
                group[i].idleRelease();
                submission.abort(first + i, w);
            }
        }
        boolean woke = submission.wakeIfSleeping();
        try {
            return await(first, k, woke, op, w, group);
        } catch (EngineClosedException e) {
            // The engine was abandoned with our items in flight: it may still write into them.
            ABANDONED_ITEMS.add(items);
            ITEMS.remove();
            throw e;
        }
    }

    /**
     * Waits for the k batch slots from first (spinning or parking on the last only, at once if we woke the
     * engine), gives their cells back and returns the first failure (a slot's failure is its first failed
     * item).
     */
    private RuntimeException await(long first, int k, boolean woke, Op op, SlotWaiter w, Cell[] group) {
        RuntimeException failure = null, lastFailure = null;
        // The engine finishes slots in order: once the last is DONE, so are the others (unless the engine
        // was abandoned while stuck: then each is waited for as usual, and that throws).
        for (int j = 0; j < k; j++) {
            int i = (j + k - 1) % k; // the last first, then the rest in order
            long seq = first + i;
            Cell cell = group[i];
            try {
                wait.awaitLong(seq, woke && i == k - 1, CallWait.NO_DEADLINE, op, w, cell);
            } catch (TimeoutException impossible) {
                throw new AssertionError(impossible);
            } catch (CallFailedException e) {
                if (i == k - 1) {
                    lastFailure = e;
                } else if (failure == null) {
                    failure = e;
                }
            }
            cells.give(cell);
        }
        return failure != null ? failure : lastFailure;
    }

    /** This thread's batch item buffer, grown to hold at least {@code items}. */
    private static MemorySegment items(int items) {
        MemorySegment s = ITEMS.get();
        long want = (long) Math.max(items, ITEMS_PER_SLOT) * BATCH_ITEM_SIZE;
        if (s == null || s.byteSize() < want) {
            s = Arena.ofAuto().allocate(want, ALIGNMENT);
            ITEMS.set(s);
        }
        return s;
    }
}
