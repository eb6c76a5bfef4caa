package io.ferry;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicLong;

/**
 * One Java task in flight to an engine thread: the ring carries only this cell's index and stamp
 * ({@code ferry.task}'s arg0 and arg1), the engine's upcall finds the task here and leaves its outcome
 * here. Cells are pooled (a Treiber stack of indexes with a tag against ABA), so a task with a reused
 * lambda allocates nothing.
 *
 * <p>The state word is {@code stamp << 3 | phase}. The stamp changes every time the cell is released,
 * so a late upcall for a call its caller gave up finds another stamp and does nothing. Phases:
 * <pre>
 *   FREE(s) --caller--> SUBMITTED(s) --engine CAS--> RUNNING(s) --engine CAS--> DONE(s) --caller--> FREE(s+1)
 *   SUBMITTED(s) --caller gives up (CAS)--> RELEASING(s) --> FREE(s+1)     the engine never runs it
 *   RUNNING(s)   --caller gives up (CAS)--> ABANDONED(s) --engine--> RELEASING(s) --> FREE(s+1)
 *   DONE(s)      --caller gives up (CAS)--> RELEASING(s) --> FREE(s+1)     the outcome is dropped
 * </pre>
 * Whoever moves the cell to RELEASING owns it and returns it to the pool.
 *
 * <p>Cancel gate: a task's cancel action ({@link Task#onCancel}) runs on the thread that gives the
 * task up, never after the task ended. The canceller sets {@link #cancelled}, then enters the gate
 * with a CAS and reads the action; the engine thread clears the action, then waits until the gate is
 * empty before it marks the task DONE. Volatile stores and loads on each side: either the canceller
 * reads null, or the engine sees it in the gate and waits (a Dekker pair; nothing weaker orders a
 * store before a later load).
 */
final class TaskCell extends TaskCellFields implements Task.CancelRegistration {
    static final int FREE = 0, SUBMITTED = 1, RUNNING = 2, DONE = 3, ABANDONED = 4, RELEASING = 5;
    static final int KIND_RUN = 0, KIND_CALL = 1, KIND_LONG = 2, KIND_DOUBLE = 3;

    private static final VarHandle STATE, GATE;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            STATE = l.findVarHandle(TaskCellFields.class, "state", long.class);
            GATE = l.findVarHandle(TaskCellFields.class, "gate", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Padding after the fields (see {@link TaskCellPad}). */
    long q00, q01, q02, q03, q04, q05, q06, q07, q08, q09, q10, q11, q12, q13, q14, q15;

    TaskCell(int index) {
        super(index);
    }

    static long word(long stamp, int phase) {
        return stamp << 3 | phase;
    }

    long state() {
        return state;
    }

    long stamp() {
        return state >>> 3;
    }

    boolean cas(long expect, long update) {
        return STATE.compareAndSet(this, expect, update);
    }

    // ---- the cancel gate ---------------------------------------------------------------------------

    /** The giving-up thread: runs the action once, if the task is running one now. */
    void cancelNow() {
        cancelled = true; // volatile: before the gate's CAS, so a task that registers later sees it
        if (GATE.compareAndSet(this, 0, 1)) {
            try {
                Runnable a = cancelAction;
                if (a != null) {
                    cancelAction = null; // once
                    try {
                        a.run();
                    } catch (Throwable t) {
                        Tasks.LOG.log(System.Logger.Level.WARNING, "a task's cancel action failed", t);
                    }
                }
            } finally {
                GATE.setVolatile(this, 0);
            }
        }
        // Another canceller is inside: it runs the action.
    }

    /** The engine thread, inside the task: from here the action may run once, until {@link #close()}. */
    void register(Runnable action) {
        cancelAction = action;
    }

    /** The engine thread: no action runs once this returns. */
    @Override
    public void close() {
        cancelAction = null; // volatile store, then the gate's volatile load: the Dekker pair above
        int spins = 0;
        while ((int) GATE.getVolatile(this) != 0) {
            if (++spins < 100) {
                Thread.onSpinWait();
            } else {
                Thread.yield();
            }
        }
    }

    /** Clears what the last use left, then frees the cell under the next stamp and pools it. */
    void release(long stamp) {
        owner = null;
        context = null;
        task = null;
        result = null;
        failure = null;
        cancelAction = null;
        cancelled = false;
        STATE.setVolatile(this, word(stamp + 1, FREE));
        Pool.push(this);
    }

    // ---- the pool ----------------------------------------------------------------------------------

    /** Every cell ever made, by index, in chunks that never move; free ones on a tagged Treiber stack. */
    static final class Pool {
        private static final int CHUNK_BITS = 10, CHUNK = 1 << CHUNK_BITS, MAX_CHUNKS = 1 << 14;
        private static final TaskCell[][] CHUNKS = new TaskCell[MAX_CHUNKS][];
        /** tag << 32 | (index + 1) of the top free cell (0: empty). */
        private static final AtomicLong HEAD = new AtomicLong();
        private static int chunks; // guarded by Pool.class

        /** Cells made so far (tests: a pool that leaks keeps growing). */
        static synchronized int made() {
            return chunks << CHUNK_BITS;
        }

        private Pool() {
        }

        /** The cell of an index the ring carried, or null for an index never issued. */
        static TaskCell get(long index) {
            if (index < 0 || index >= (long) MAX_CHUNKS << CHUNK_BITS) {
                return null;
            }
            TaskCell[] chunk = CHUNKS[(int) (index >>> CHUNK_BITS)];
            return chunk == null ? null : chunk[(int) index & (CHUNK - 1)];
        }

        static TaskCell pop() {
            for (;;) {
                long h = HEAD.get();
                int top = (int) h;
                if (top == 0) {
                    grow();
                    continue;
                }
                TaskCell c = get(top - 1);
                long next = (h & 0xffff_ffff_0000_0000L) + (1L << 32) | (c.nextFree & 0xffff_ffffL);
                if (HEAD.compareAndSet(h, next)) {
                    return c;
                }
            }
        }

        static void push(TaskCell c) {
            for (;;) {
                long h = HEAD.get();
                c.nextFree = (int) h;
                if (HEAD.compareAndSet(h, (h & 0xffff_ffff_0000_0000L) + (1L << 32) | (c.index + 1L))) {
                    return;
                }
            }
        }

        private static synchronized void grow() {
            if ((int) HEAD.get() != 0) {
                return; // another thread grew it, or a cell came back
            }
            if (chunks == MAX_CHUNKS) {
                throw new IllegalStateException("more than " + ((long) MAX_CHUNKS << CHUNK_BITS)
                        + " Java tasks in flight at once");
            }
            TaskCell[] chunk = new TaskCell[CHUNK];
            int base = chunks << CHUNK_BITS;
            for (int i = 0; i < CHUNK; i++) {
                chunk[i] = new TaskCell(base + i);
            }
            CHUNKS[chunks++] = chunk; // published by the pushes' CASes below
            for (int i = CHUNK - 1; i >= 0; i--) {
                push(chunk[i]);
            }
        }
    }
}

/**
 * Padding before a task cell's fields: cells are made in runs, side by side on the heap, and each is
 * written by its own caller and by the engine; 128 bytes each side keep two cells' fields off one cache
 * line pair (padding by inheritance: HotSpot lays a superclass's fields out before a subclass's).
 */
abstract class TaskCellPad {
    long p00, p01, p02, p03, p04, p05, p06, p07, p08, p09, p10, p11, p12, p13, p14, p15;
}

/** A task cell's fields (see {@link TaskCell}). */
abstract class TaskCellFields extends TaskCellPad {
    final int index;
    volatile long state; // through TaskCell.STATE
    /** The pool's link: the index of the next free cell plus one (0: none). Guarded by the pool's tag. */
    int nextFree;

    // Written by the caller before it publishes the call (the ring's release/acquire hands them over).
    Tasks owner;
    ExecutionContext context;
    Object task;
    int kind;

    // Written by the engine thread before DONE (read by the caller after the call returned).
    long longResult;
    double doubleResult;
    Object result;
    Throwable failure;

    volatile boolean cancelled;
    volatile Runnable cancelAction;
    volatile int gate; // through TaskCell.GATE

    TaskCellFields(int index) {
        this.index = index;
    }
}
