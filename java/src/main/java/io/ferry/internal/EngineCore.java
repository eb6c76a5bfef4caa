package io.ferry.internal;

import static io.ferry.internal.Layout.ALIGNMENT;
import static io.ferry.internal.Layout.CALL_HAS_INPUT;
import static io.ferry.internal.Layout.regionSize;

import io.ferry.EngineClosedException;
import io.ferry.EngineStartException;
import io.ferry.Op;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;

/**
 * Everything an engine owns on the Java side, and the call entry points. The public {@code
 * io.ferry.Engine} is a thin facade over it, so that a Cleaner can watch the facade while the engine
 * thread's upcall keeps this core reachable.
 *
 * <p>A call is the protocol of {@link Ring} in the order of its Javadoc: {@link BackPressure} claims
 * and waits for the slot, {@link Submission} writes and publishes it with the caller's completion
 * {@link Cell} (from {@link Cells}), {@link CallWait} spins, parks or gives it up, {@link Outcomes} takes
 * the result out of the cell. {@link Batch} and {@link AsyncCall} are the other two shapes; {@link
 * Shutdown} closes.
 */
public final class EngineCore {
    static final System.Logger LOG = System.getLogger("io.ferry");
    /** A timeout (and deadline) of Long.MAX_VALUE means none. */
    public static final long NO_DEADLINE = CallWait.NO_DEADLINE;
    private static final int OPEN = 0, CLOSING = 1, CLOSED = 2;
    private static final VarHandle LIFECYCLE;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            LIFECYCLE = lookup.findVarHandle(EngineCore.class, "lifecycle", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final Arena arena;
    private final Ring ring;
    private final EngineHandle engine;
    private final long closeTimeoutNs;
    /** The completion cells its callers and async calls hold. */
    private final Cells cells;
    private final BackPressure backPressure;
    private final Submission submission;
    private final Outcomes outcomes;
    private final CallWait wait;
    private final Batch batch;
    private final Completions completions;
    private final AsyncCalls asyncCalls;
    private final Shutdown shutdown;
    private final Thread engineThread;
    public final EngineCounters counters; // counters

    @SuppressWarnings("unused") // accessed through LIFECYCLE
    private volatile int lifecycle = OPEN;
    /** Set when the engine thread did not stop within the close timeout: nobody may wait on it. */
    private volatile boolean abandoned;
    /** Set by close() before it gives up every call in flight (see {@link Shutdown#giveUpInFlight}). */
    private volatile boolean closeCancels;

    public EngineCore(String name, int capacity, WaitRules rules, String pluginPath,
            String initSymbol, String initArg, long maxInputBytes, Executor completionExecutor, long closeTimeoutNs) {
        if (capacity < 1 || capacity > (1 << 24) || Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity=" + capacity + ": must be a power of two in 1..2^24");
        }
        this.name = name;
        this.closeTimeoutNs = closeTimeoutNs;
        long size = FerryNative.ferry_region_size(capacity);
        if (size != regionSize(capacity)) {
            throw new IllegalStateException("libferry disagrees on the region size: " + size + " != "
                    + regionSize(capacity) + "; the jar and the library are from different builds");
        }
        FerryNative.bindCloseHandles();
        this.arena = Arena.ofShared();
        boolean started = false;
        boolean freeRegion = true;
        try {
            MemorySegment region = arena.allocate(size, ALIGNMENT);
            this.ring = new Ring(region, capacity);
            this.cells = new Cells(arena);
            this.backPressure = new BackPressure(this, ring, rules);
            this.outcomes = new Outcomes();
            this.completions = new Completions(this, ring, rules, completionExecutor);
            WakeUpcall wake = new WakeUpcall(name, cells, backPressure);
            this.engine = EngineHandle.start(name, arena, region, capacity, rules, pluginPath, initSymbol, initArg,
                    wake.stub(arena));
            MemorySegment handle = engine.segment;
            // No call, so no upcall that reads wait, before the constructor returns.
            CancelHook cancelHook = new CancelHook(handle, ring);
            this.wait = new CallWait(this, ring, outcomes, rules, cancelHook);
            this.submission = new Submission(this, ring, backPressure, handle, maxInputBytes);
            this.shutdown = new Shutdown(this, ring, arena, handle, cells, cancelHook);
            this.batch = new Batch(ring, backPressure, submission, wait, cells);
            this.asyncCalls = new AsyncCalls(this, cells, submission, outcomes, wait);
            // The hello upcall ran on the engine thread before the start handshake returned.
            this.engineThread = wake.engineThread();
            // ferry.test.badHeader: a test-only way to fail this check (HeaderCheckTest), read only here.
            if (!ring.headerMatches() || Boolean.getBoolean("ferry.test.badHeader")) {
                freeRegion = engine.stopJoinDestroy(closeTimeoutNs);
                throw new EngineStartException(Layout.E_INVALID, "engine '" + name + "': libferry wrote an "
                        + "unexpected region header (the jar and the library are from different builds); "
                        + (freeRegion ? "the engine thread was stopped and joined"
                                : "the engine thread did not stop within the close timeout, so its region is leaked"));
            }
            this.counters = EngineCounters.attach(name, capacity, region, handle); // counters
            wake.counters = counters.caller; // counters
            started = true;
        } finally {
            if (!started && freeRegion) {
                arena.close(); // never under an engine thread still running on the region
            }
        }
        Lifecycle.register(this);
    }

    public String name() {
        return name;
    }

    public int capacity() {
        return ring.capacity();
    }

    public Thread engineThread() {
        return engineThread;
    }

    /** Looks an op up by name; returns {id, flags} or null. */
    public int[] lookup(String opName) {
        checkOpen();
        return engine.lookup(opName);
    }

    public boolean isClosed() {
        return lifecycle != OPEN;
    }

    /** Whether close() stopped and joined the engine thread (false while open, or if it gave up on it). */
    public boolean isStopped() {
        return lifecycle == CLOSED && shutdown.finished() && !abandoned;
    }

    /**
     * Sets the engine thread's nice value (ferry_engine_set_nice).
     *
     * @throws EngineStartException with FERRY_E_PERMISSION or FERRY_E_INVALID and the OS's reason
     */
    public void setEngineNice(int nice) {
        checkOpen();
        engine.setNice(nice);
    }

    /** The engine thread's nice value as the OS reports it. */
    public int engineNice() {
        checkOpen();
        return engine.nice();
    }

    /** CPU time the engine thread has used so far, in ns, or -1 once stopped. */
    public long engineCpuNanos() {
        return lifecycle == OPEN ? engine.cpuNanos() : -1;
    }

    // ---- the call entry points ---------------------------------------------------------------------

    /** A sync call with primitive arguments and a 64-bit result. Allocates nothing. */
    public long callLong(Op op, long ctx, long a, long b) {
        checkNotEngineThread();
        SlotWaiter w = SlotWaiter.current();
        Cell cell = cell(w);
        long submitted = submission.submit(op.id(), ctx, a, b, w, cell);
        return awaitLong(submitted, op, w, cell);
    }

    /**
     * A sync call with a deadline (NO_DEADLINE for none) and an optional input byte array; 64-bit result.
     * On timeout the call is given up, and the engine skips it if it had not started it.
     */
    public long callLong(Op op, long ctx, long a, long b, byte[] input, long timeoutNs) throws TimeoutException {
        checkNotEngineThread();
        long deadline = deadline(timeoutNs);
        SlotWaiter w = SlotWaiter.current();
        Cell cell = cell(w);
        long submitted = submit(op, ctx, a, b, input, deadline, w, cell);
        return wait.awaitLong(submitted & Long.MAX_VALUE, submitted < 0, deadline, op, w, cell);
    }

    /** A sync call with an input byte array and a result of {@code kind} (AsyncCall.KIND_BYTES or KIND_STRING). */
    public Object callObject(Op op, long ctx, byte[] input, long timeoutNs, int kind) throws TimeoutException {
        checkNotEngineThread();
        long deadline = deadline(timeoutNs);
        SlotWaiter w = SlotWaiter.current();
        Cell cell = cell(w);
        long submitted = submit(op, ctx, 0, 0, input, deadline, w, cell);
        return wait.awaitObject(submitted & Long.MAX_VALUE, submitted < 0, deadline, op, kind, w, cell);
    }

    /**
     * Like {@link #callLong(Op, long, long, long, byte[], long)} without a deadline, but only if a slot
     * is free now: when every slot is in flight it sends nothing and returns {@code ifRejected}.
     */
    public long tryCallLong(Op op, long ctx, long a, long b, byte[] input, long ifRejected) {
        checkNotEngineThread();
        SlotWaiter w = SlotWaiter.current();
        Cell cell = cell(w);
        long submitted = trySubmit(op, ctx, a, b, input, w, cell);
        if (submitted == -1) counters.caller.rejected.increment(); // counters
        return submitted == -1 ? ifRejected : awaitLong(submitted, op, w, cell);
    }

    /** {@link #callObject} without a deadline if a slot is free now; else sends nothing, returns {@code ifRejected}. */
    public Object tryCallObject(Op op, long ctx, byte[] input, int kind, Object ifRejected) {
        checkNotEngineThread();
        SlotWaiter w = SlotWaiter.current();
        Cell cell = cell(w);
        long submitted = trySubmit(op, ctx, 0, 0, input, w, cell);
        if (submitted == -1) counters.caller.rejected.increment(); // counters
        try {
            return submitted == -1 ? ifRejected
                    : wait.awaitObject(submitted & Long.MAX_VALUE, submitted < 0, NO_DEADLINE, op, kind, w, cell);
        } catch (TimeoutException impossible) {
            throw new AssertionError(impossible);
        }
    }

    private long trySubmit(Op op, long ctx, long a, long b, byte[] input, SlotWaiter w, Cell cell) {
        MemorySegment in = input == null ? MemorySegment.NULL : submission.copyIn(input);
        return submission.trySubmit(op.id(), input == null ? 0 : CALL_HAS_INPUT, ctx, a, b, in,
                input == null ? 0 : input.length, w, cell);
    }

    /** This thread's cell; a closed engine's pool (its arena freed) rejects the call as closed. */
    private Cell cell(SlotWaiter w) {
        try {
            return w.cell(cells);
        } catch (IllegalStateException arenaClosed) {
            throw closed();
        }
    }

    /** Waits, without a deadline, for the 64-bit result of a call {@link Submission} returned. */
    private long awaitLong(long submitted, Op op, SlotWaiter w, Cell cell) {
        try {
            return wait.awaitLong(submitted & Long.MAX_VALUE, submitted < 0, NO_DEADLINE, op, w, cell);
        } catch (TimeoutException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /** Many calls of one op, {@value Batch#ITEMS_PER_SLOT} per slot (see {@link Batch}). */
    public void callBatch(Op op, long ctx, long[] a, long[] b, long[] results) {
        checkNotEngineThread();
        batch.call(op, ctx, a, b, results);
    }

    /** An async call: the future completes on the completion executor, never on the engine thread. */
    public <T> AsyncCall<T> callAsync(Op op, long ctx, long a, long b, byte[] input, int resultKind) {
        checkNotEngineThread();
        return asyncCalls.submit(op, ctx, a, b, input, resultKind);
    }

    /** A call with an optional input; see {@link Submission#submit}. */
    private long submit(Op op, long ctx, long a, long b, byte[] input, long deadline, SlotWaiter w, Cell cell)
            throws TimeoutException {
        MemorySegment in = input == null ? MemorySegment.NULL : submission.copyIn(input);
        return submission.submit(op.id(), input == null ? 0 : CALL_HAS_INPUT, ctx, a, b, in,
                input == null ? 0 : input.length, deadline, w, cell, null);
    }

    private void checkNotEngineThread() {
        if (Thread.currentThread() == engineThread) {
            throw new IllegalStateException("engine '" + name + "': a call was submitted from the engine thread "
                    + "itself (from a callback the engine is running); it would wait on itself forever. "
                    + "Hand the work to another thread instead");
        }
    }

    private void checkOpen() {
        if (lifecycle != OPEN) {
            throw closed();
        }
    }

    EngineClosedException closed() {
        return new EngineClosedException("engine '" + name + "' is closed; no new calls are accepted");
    }

    static long deadline(long timeoutNs) {
        if (timeoutNs == NO_DEADLINE) {
            return NO_DEADLINE;
        }
        long now = System.nanoTime();
        return timeoutNs >= NO_DEADLINE - now ? NO_DEADLINE - 1 : now + Math.max(0, timeoutNs);
    }

    // ---- async calls and the wake upcall -----------------------------------------------------------

    AsyncCalls asyncCalls() {
        return asyncCalls;
    }

    Completions completions() {
        return completions;
    }

    // ---- shutdown ---------------------------------------------------------------------------------

    /**
     * Stops intake, gives up every call in flight (its caller is told close cancelled it; the engine
     * skips the queued ones and the running one ends if its op honours cancellation; a call claimed but
     * not yet published still runs), stops and joins the engine thread and frees the region.
     * Idempotent, safe from any thread, bounded by the close timeout:
     * if the engine does not stop in time (an op that never returns), every waiting caller is failed
     * with EngineClosedException and the native memory is deliberately leaked, since the engine thread
     * may still touch it.
     */
    public void close() {
        close(closeTimeoutNs);
    }

    public void close(long timeoutNs) {
        if (LIFECYCLE.compareAndSet(this, OPEN, CLOSING)) {
            counters.closing(); // counters
            shutdown.closeFirst(timeoutNs);
        } else if (Thread.currentThread() != engineThread) {
            // Another thread is closing: return only once it has joined the engine thread. (On the
            // engine thread, waiting would wait on itself: the first closer finishes elsewhere.)
            shutdown.awaitFinished();
        }
    }

    /** How long close() waits for the engine to stop, as the builder's closeTimeout set it. */
    long closeTimeoutNs() {
        return closeTimeoutNs;
    }

    /** Whether close() has begun to give up the calls in flight. */
    boolean closeCancels() {
        return closeCancels;
    }

    void markCloseCancels() {
        closeCancels = true;
    }

    /** What a caller whose call close() gave up is told. */
    EngineClosedException cancelledByClose() {
        return new EngineClosedException("engine '" + name + "' was closed while the call was in flight; close"
                + " cancelled it (the engine skipped it, or stopped it if the op honours cancellation)");
    }

    void markClosed() {
        LIFECYCLE.setVolatile(this, CLOSED);
    }

    void markAbandoned() {
        abandoned = true;
        LIFECYCLE.setVolatile(this, CLOSED);
    }

    boolean abandoned() {
        return abandoned;
    }

    /** Whether close() has finished (the region and the cells may be freed). */
    boolean closedFully() {
        return lifecycle == CLOSED;
    }

    @Override
    public String toString() {
        return "Engine[" + name + ", capacity=" + ring.capacity() + (lifecycle == OPEN ? "" : ", closed") + "]";
    }
}
