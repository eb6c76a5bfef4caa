package io.ferry.internal;

import static io.ferry.internal.Layout.*;

import io.ferry.CallFailedException;
import io.ferry.CallInterruptedException;
import io.ferry.EngineClosedException;
import io.ferry.EngineStartException;
import io.ferry.FerryException;
import io.ferry.Op;
import io.ferry.RejectedCallException;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executor;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

/**
 * The producer side of the ring and everything an engine owns on the Java side. The public
 * {@code io.ferry.Engine} is a thin facade over it, so that a Cleaner can watch the facade while the
 * engine thread's upcall keeps this core reachable.
 *
 * <p>A call, in the order the protocol of ferry.h needs:
 * <ol>
 *   <li>claim a sequence with one atomic add on the tail (a negative old value means intake stopped);
 *   <li>wait until the slot reads FREE(seq): its previous caller took its result (backpressure);
 *   <li>write the call with plain stores, publish with a volatile store (a release that is also a
 *       StoreLoad fence), then read the engine's sleeping word and wake it only if it is set;
 *   <li>spin on the slot's state for the spin budget, then register as PARKED (CAS) and park; the
 *       engine wakes exactly the callers whose state had PARKED;
 *   <li>read the result with plain loads after the acquire load that saw DONE, then release the slot
 *       with a release store of FREE(seq + capacity).
 * </ol>
 * Nothing between claim and publish can block or allocate; if anything throws there, an abort record
 * is published so the engine never waits on a slot nobody will fill.
 */
public final class EngineCore {
    private static final VarHandle LONG = ValueLayout.JAVA_LONG.varHandle();
    private static final VarHandle INT = ValueLayout.JAVA_INT.varHandle();
    static final System.Logger LOG = System.getLogger("io.ferry");
    /** A timeout (and deadline) of Long.MAX_VALUE means none. */
    public static final long NO_DEADLINE = Long.MAX_VALUE;
    private static final int OPEN = 0, CLOSING = 1, CLOSED = 2;
    private static final VarHandle LIFECYCLE;
    private static final MethodHandle ON_WAKE;
    private static final VarHandle FREE_WAITERS;
    /** Spinners yield their CPU after this long, so more spinners than cores still make progress. */
    private static final long YIELD_AFTER_NS = 5_000;
    /**
     * A virtual thread spins only if at most this many calls ahead of its own have not been started by
     * the engine; otherwise it parks at once, unless the engine's calls are long (see {@link #spinVirtual}).
     */
    private static final long VIRTUAL_SPIN_MAX_AHEAD = 2;
    /** What a virtual thread reckons a call ahead of its own costs the engine, for its spin budget. */
    private static final long VIRTUAL_NS_PER_CALL_AHEAD = 500;
    /** A virtual thread's spin budget on top of the calls ahead: about one short call's round trip. */
    private static final long VIRTUAL_SPIN_NS = 1_000;
    /**
     * Calls that take the engine this long or longer (stats.call_ns) are long: then a virtual thread
     * queued behind others waits as it did before it looked at its place (see {@link #spinVirtual}).
     */
    private static final long VIRTUAL_LONG_CALL_NS = 5_000;
    /** A virtual thread waiting on long calls yields its carrier after this long. */
    private static final long VIRTUAL_YIELD_AFTER_NS = 2_000;

    static {
        try {
            MethodHandles.Lookup lookup = MethodHandles.lookup();
            LIFECYCLE = lookup.findVarHandle(EngineCore.class, "lifecycle", int.class);
            FREE_WAITERS = lookup.findVarHandle(EngineCore.class, "freeWaiters", int.class);
            ON_WAKE = lookup.findVirtual(EngineCore.class, "onWake", MethodType.methodType(void.class, int.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final String name;
    private final Arena arena;
    private final MemorySegment region;
    private final MemorySegment handle;
    private final int capacity;
    private final long mask;
    private final long callerSpinNs;
    private final long maxInputBytes;
    private final Executor completionExecutor;
    private final long closeTimeoutNs;
    /** Per slot: the ParkedCall or AsyncCall whose outcome the wake upcall hands over. */
    private final AtomicReferenceArray<Object> waiters;
    private final Thread engineThread;
    /** Per slot: producers that claimed a later lap of it and wait for it to be released. */
    private final AtomicReferenceArray<ConcurrentLinkedQueue<FreeWaiter>> freeWaiterQueues;
    /** How many producers wait in awaitFree; releasers look here before they look for one to wake. */
    private volatile int freeWaiters;

    @SuppressWarnings("unused") // accessed through LIFECYCLE
    private volatile int lifecycle = OPEN;
    /** Set when the engine thread did not stop within the close timeout: nobody may wait on it. */
    private volatile boolean abandoned;
    private volatile Thread helloThread;
    /** Counted down once the first closer stopped and joined the engine thread (or abandoned it). */
    private final java.util.concurrent.CountDownLatch closeFinished = new java.util.concurrent.CountDownLatch(1);

    @SuppressWarnings("restricted")
    public EngineCore(String name, int capacity, long callerSpinNs, long engineIdleSpinNs, String pluginPath,
            String initSymbol, String initArg, long maxInputBytes, Executor completionExecutor, long closeTimeoutNs) {
        if (capacity < 1 || capacity > (1 << 24) || Integer.bitCount(capacity) != 1) {
            throw new IllegalArgumentException("capacity=" + capacity + ": must be a power of two in 1..2^24");
        }
        this.name = name;
        this.capacity = capacity;
        this.mask = capacity - 1;
        this.callerSpinNs = callerSpinNs;
        this.maxInputBytes = maxInputBytes;
        this.completionExecutor = completionExecutor;
        this.closeTimeoutNs = closeTimeoutNs;
        this.waiters = new AtomicReferenceArray<>(capacity);
        this.freeWaiterQueues = new AtomicReferenceArray<>(capacity);
        long size = FerryNative.ferry_region_size(capacity);
        if (size != regionSize(capacity)) {
            throw new IllegalStateException("libferry disagrees on the region size: " + size + " != "
                    + regionSize(capacity) + "; the jar and the library are from different builds");
        }
        FerryNative.bindCloseHandles();
        this.arena = Arena.ofShared();
        boolean started = false;
        try {
            this.region = arena.allocate(size, ALIGNMENT);
            if (region.address() % ALIGNMENT != 0) {
                throw new IllegalStateException("region is not " + ALIGNMENT + "-byte aligned");
            }
            MemorySegment wake = Linker.nativeLinker().upcallStub(ON_WAKE.bindTo(this),
                    FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT), arena);
            MemorySegment out = arena.allocate(ValueLayout.ADDRESS);
            MemorySegment err = arena.allocate(1024);
            MemorySegment path = pluginPath == null ? MemorySegment.NULL : arena.allocateFrom(pluginPath);
            MemorySegment sym = initSymbol == null ? MemorySegment.NULL : arena.allocateFrom(initSymbol);
            MemorySegment arg = initArg == null ? MemorySegment.NULL : arena.allocateFrom(initArg);
            int rc = FerryNative.ferry_engine_start(region, capacity, engineIdleSpinNs, path, sym, arg, wake, out, err,
                    err.byteSize());
            if (rc != 0) {
                throw new EngineStartException(rc, "engine '" + name + "' failed to start: " + err.getString(0));
            }
            this.handle = out.get(ValueLayout.ADDRESS, 0);
            // The hello upcall ran on the engine thread before the start handshake returned.
            this.engineThread = helloThread;
            if ((long) LONG.get(region, HEADER_MAGIC) != MAGIC || (int) INT.get(region, HEADER_VERSION) != VERSION) {
                stopJoinDestroy(handle);
                throw new IllegalStateException("libferry wrote an unexpected region header; the engine was stopped");
            }
            started = true;
        } finally {
            if (!started) {
                arena.close();
            }
        }
        Lifecycle.register(this);
    }

    /** Undoes a start whose region the engine thread has already begun to serve. */
    private void stopJoinDestroy(MemorySegment engine) {
        FerryNative.ferry_engine_stop(engine);
        if (FerryNative.ferry_engine_join(engine, closeTimeoutNs) == 0) {
            FerryNative.ferry_engine_destroy(engine);
        }
    }

    public String name() {
        return name;
    }

    public int capacity() {
        return capacity;
    }

    public Thread engineThread() {
        return engineThread;
    }

    /** Looks an op up by name; returns {id, flags} or null. */
    public int[] lookup(String opName) {
        checkOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment flags = a.allocate(ValueLayout.JAVA_INT);
            int id = FerryNative.ferry_op_lookup(handle, a.allocateFrom(opName), flags);
            return id < 0 ? null : new int[] {id, flags.get(ValueLayout.JAVA_INT, 0)};
        }
    }

    public boolean isClosed() {
        return lifecycle != OPEN;
    }

    /** Whether close() stopped and joined the engine thread (false while open, or if it gave up on it). */
    public boolean isStopped() {
        return lifecycle == CLOSED && closeFinished.getCount() == 0 && !abandoned;
    }

    /**
     * Sets the engine thread's nice value (ferry_engine_set_nice).
     *
     * @throws EngineStartException with FERRY_E_PERMISSION or FERRY_E_INVALID and the OS's reason
     */
    public void setEngineNice(int nice) {
        checkOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment err = a.allocate(512);
            int rc = FerryNative.ferry_engine_set_nice(handle, nice, err, err.byteSize());
            if (rc != 0) {
                throw new EngineStartException(rc, "engine '" + name + "': " + err.getString(0));
            }
        }
    }

    /** The engine thread's nice value as the OS reports it. */
    public int engineNice() {
        checkOpen();
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(ValueLayout.JAVA_INT);
            int rc = FerryNative.ferry_engine_get_nice(handle, out);
            if (rc != 0) {
                throw new EngineClosedException("engine '" + name + "' has stopped");
            }
            return out.get(ValueLayout.JAVA_INT, 0);
        }
    }

    /** CPU time the engine thread has used so far, in ns, or -1 once stopped. */
    public long engineCpuNanos() {
        return lifecycle == OPEN ? FerryNative.ferry_engine_cpu_ns(handle) : -1;
    }


    // ---- the call path ----------------------------------------------------------------------------

    /** A sync call with primitive arguments and a 64-bit result. Allocates nothing. */
    public long callLong(Op op, long ctx, long a, long b) {
        checkNotEngineThread();
        long seq = claim();
        long base = slotOffset(seq, mask);
        awaitFree(base, seq);
        boolean woke = writeAndPublish(base, seq, op.id(), 0, ctx, a, b, 0, 0, 0);
        try {
            // A caller that had to wake the engine parks at once: the wake-up takes longer than any spin.
            long st = woke ? -1 : spin(base, seq, NO_DEADLINE);
            return st >= 0 ? takeLong(base, seq, op) : parkLong(base, seq, NO_DEADLINE, op);
        } catch (TimeoutException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /**
     * A sync call with a deadline (NO_DEADLINE for none) and an optional input byte array; 64-bit result.
     * On timeout the call is given up, and the engine skips it if it had not started it.
     */
    public long callLong(Op op, long ctx, long a, long b, byte[] input, long timeoutNs) throws TimeoutException {
        checkNotEngineThread();
        long deadline = deadline(timeoutNs);
        long submitted = submit(op, ctx, a, b, input, deadline, 0);
        long seq = submitted & Long.MAX_VALUE;
        long base = slotOffset(seq, mask);
        long st = submitted < 0 ? -1 : spin(base, seq, deadline);
        return st >= 0 ? takeLong(base, seq, op) : parkLong(base, seq, deadline, op);
    }

    /** A sync call with an input byte array and a bytes result. */
    public byte[] callBytes(Op op, long ctx, long a, byte[] input, long timeoutNs) throws TimeoutException {
        checkNotEngineThread();
        long deadline = deadline(timeoutNs);
        long submitted = submit(op, ctx, a, 0, input, deadline, 0);
        long seq = submitted & Long.MAX_VALUE;
        long base = slotOffset(seq, mask);
        long st = submitted < 0 ? -1 : spin(base, seq, deadline);
        return st >= 0 ? takeBytes(base, seq, op) : (byte[]) parkObject(base, seq, deadline, op, AsyncCall.KIND_BYTES);
    }

    /** Like {@link #callLong(Op, long, long, long)} but fails fast when every slot is in flight. */
    public long tryCallLong(Op op, long ctx, long a, long b) {
        checkNotEngineThread();
        long seq = tryClaim();
        if (seq < 0) {
            throw new RejectedCallException("engine '" + name + "': all " + capacity
                    + " slots are in flight; call rejected (op '" + op.name() + "')");
        }
        long base = slotOffset(seq, mask);
        boolean woke = writeAndPublish(base, seq, op.id(), 0, ctx, a, b, 0, 0, 0);
        try {
            long st = woke ? -1 : spin(base, seq, NO_DEADLINE);
            return st >= 0 ? takeLong(base, seq, op) : parkLong(base, seq, NO_DEADLINE, op);
        } catch (TimeoutException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /** Calls of a batch carried by one slot: the engine runs them back to back in one turn. */
    static final int BATCH_ITEMS_PER_SLOT = 256;
    /** Slots a batch fills before it waits for them (at most the ring's capacity). */
    private static final int BATCH_SLOTS_PER_GROUP = 16;
    /** Each thread's batch items, in native memory the GC frees once the thread is gone. */
    private static final ThreadLocal<MemorySegment> BATCH_ITEMS = new ThreadLocal<>();
    /** Item buffers an abandoned engine may still write into: never freed. */
    private static final java.util.Queue<MemorySegment> ABANDONED_ITEMS = new ConcurrentLinkedQueue<>();

    /**
     * Many calls of one op: the calls travel as compact 32-byte items in a native array this thread
     * reuses, {@value #BATCH_ITEMS_PER_SLOT} per slot, so a call of a batch costs the engine a few
     * sequential loads and stores instead of a slot's two cache lines, and the producer one claim per
     * group of slots. Per group of up to {@value #BATCH_SLOTS_PER_GROUP} slots: write the items, claim the
     * slots with one atomic add, write them, publish them last to first (release stores; the engine,
     * which waits on the first, then finds the whole group ready and never races this producer for a
     * slot's line), one full fence before the sleeping check, then wait on the group's last slot only
     * (the engine finishes slots in order) and read the results. If calls fail, the rest of their group
     * still completes and the first failure is thrown; later groups are not submitted.
     */
    public void callBatch(Op op, long ctx, long[] a, long[] b, long[] results) {
        checkNotEngineThread();
        int n = results.length;
        if (a.length < n || (b != null && b.length < n)) {
            throw new IllegalArgumentException("callBatch: " + n + " results but " + a.length + " first and "
                    + (b == null ? "no" : String.valueOf(b.length)) + " second arguments");
        }
        int opId = op.id();
        int groupSlots = Math.min(capacity, BATCH_SLOTS_PER_GROUP);
        int groupItems = groupSlots * BATCH_ITEMS_PER_SLOT;
        MemorySegment items = batchItems((int) Math.min(n, groupItems));
        long itemsAddress = items.address();
        for (int done = 0; done < n; ) {
            int count = Math.min(n - done, groupItems);
            int k = (count + BATCH_ITEMS_PER_SLOT - 1) / BATCH_ITEMS_PER_SLOT;
            for (int i = 0; i < count; i++) {
                long item = i * BATCH_ITEM_SIZE;
                LONG.set(items, item + BATCH_ITEM_ARG0, a[done + i]);
                LONG.set(items, item + BATCH_ITEM_ARG1, b == null ? 0 : b[done + i]);
            }
            long first;
            try {
                first = (long) LONG.getAndAdd(region, TAIL, (long) k);
            } catch (IllegalStateException arenaClosed) {
                throw closed();
            }
            if (first < 0) {
                throw closed();
            }
            for (int i = 0; i < k; i++) {
                long seq = first + i;
                long base = slotOffset(seq, mask);
                awaitFree(base, seq);
                INT.set(region, base + SLOT_OP, opId);
                INT.set(region, base + SLOT_FLAGS, CALL_BATCH);
                LONG.set(region, base + SLOT_CTX, ctx);
                LONG.set(region, base + SLOT_IN_PTR, itemsAddress + (long) i * BATCH_ITEMS_PER_SLOT * BATCH_ITEM_SIZE);
                LONG.set(region, base + SLOT_IN_LEN, (long) Math.min(BATCH_ITEMS_PER_SLOT, count - i * BATCH_ITEMS_PER_SLOT));
            }
            for (int i = k - 1; i >= 0; i--) {
                long seq = first + i;
                // Release: pairs with the engine's acquire load; the fence below orders all of these
                // before the read of `sleeping`.
                LONG.setRelease(region, slotOffset(seq, mask), (seq << SEQ_SHIFT) | PHASE_PUBLISHED);
            }
            VarHandle.fullFence();
            boolean woke = false;
            if ((int) INT.getVolatile(region, ENGINE_SLEEPING) != 0) {
                FerryNative.ferry_engine_wake(handle);
                woke = true;
            }
            RuntimeException failure = null;
            try {
                failure = awaitBatch(first, k, woke, op);
            } catch (EngineClosedException e) {
                // The engine was abandoned with our items in flight: it may still write into them.
                ABANDONED_ITEMS.add(items);
                BATCH_ITEMS.remove();
                throw e;
            }
            for (int i = 0; i < count; i++) {
                results[done + i] = (long) LONG.get(items, i * BATCH_ITEM_SIZE + BATCH_ITEM_RESULT);
            }
            if (failure != null) {
                throw failure;
            }
            done += count;
        }
    }

    /**
     * Waits for the k batch slots from first (spinning or parking on the last only, at once if we woke the
     * engine), releases them and returns the first failure (a slot's failure is its first failed item).
     */
    private RuntimeException awaitBatch(long first, int k, boolean woke, Op op) {
        long last = first + k - 1;
        long lastBase = slotOffset(last, mask);
        RuntimeException failure = null, lastFailure = null;
        boolean lastTaken = false;
        try {
            if (woke || spin(lastBase, last, NO_DEADLINE) < 0) {
                lastTaken = true;
                parkLong(lastBase, last, NO_DEADLINE, op);
            }
        } catch (TimeoutException impossible) {
            throw new AssertionError(impossible);
        } catch (CallFailedException e) {
            lastFailure = e;
        }
        // The engine finishes slots in order, so every slot of the group is normally DONE now (not if the
        // engine was abandoned while stuck: then each is waited for as usual, and that throws).
        for (int i = 0; i < k; i++) {
            long seq = first + i;
            if (seq == last && lastTaken) {
                continue;
            }
            long base = slotOffset(seq, mask);
            try {
                long st = (long) LONG.getAcquire(region, base);
                if (st != ((seq << SEQ_SHIFT) | PHASE_DONE)) {
                    st = spin(base, seq, NO_DEADLINE);
                }
                if (st >= 0) {
                    takeLong(base, seq, op);
                } else {
                    parkLong(base, seq, NO_DEADLINE, op);
                }
            } catch (TimeoutException impossible) {
                throw new AssertionError(impossible);
            } catch (CallFailedException e) {
                if (failure == null) {
                    failure = e;
                }
            }
        }
        return failure != null ? failure : lastFailure;
    }

    /** This thread's batch item buffer, grown to hold at least {@code items}. */
    private static MemorySegment batchItems(int items) {
        MemorySegment s = BATCH_ITEMS.get();
        long want = (long) Math.max(items, BATCH_ITEMS_PER_SLOT) * BATCH_ITEM_SIZE;
        if (s == null || s.byteSize() < want) {
            s = Arena.ofAuto().allocate(want, ALIGNMENT);
            BATCH_ITEMS.set(s);
        }
        return s;
    }

    /**
     * Claims a slot (waiting for it without a deadline, or with tryClaim until the deadline, so that a
     * timed call never waits after its claim), writes and publishes the call. Returns its sequence, with
     * the sign bit set if this call had to wake the engine (a sequence never uses the sign bit).
     */
    private long submit(Op op, long ctx, long a, long b, byte[] input, long deadline, long stateFlags)
            throws TimeoutException {
        MemorySegment in = input == null ? MemorySegment.NULL : copyIn(input);
        long seq;
        try {
            seq = deadline == NO_DEADLINE ? claim() : claimBefore(deadline);
            if (deadline == NO_DEADLINE) {
                awaitFree(slotOffset(seq, mask), seq);
            }
        } catch (RuntimeException | TimeoutException e) {
            FerryNative.ferry_free(in);
            throw e;
        }
        boolean woke = writeAndPublish(slotOffset(seq, mask), seq, op.id(), input == null ? 0 : CALL_HAS_INPUT,
                ctx, a, b, in.address(), input == null ? 0 : input.length, stateFlags);
        return woke ? seq | Long.MIN_VALUE : seq;
    }

    /** An async call: the future completes on the completion executor, never on the engine thread. */
    public <T> AsyncCall<T> callAsync(Op op, long ctx, long a, long b, byte[] input, int resultKind) {
        checkNotEngineThread();
        AsyncCall<T> call = new AsyncCall<>(this, op, resultKind);
        MemorySegment in = input == null ? MemorySegment.NULL : copyIn(input);
        long seq;
        try {
            seq = claim();
            awaitFree(slotOffset(seq, mask), seq);
        } catch (RuntimeException e) {
            FerryNative.ferry_free(in);
            throw e;
        }
        call.seq = seq;
        // Registered before the publish (a release) so the engine's upcall, which follows the DONE it
        // makes after reading the published slot, finds it.
        waiters.set((int) (seq & mask), call);
        writeAndPublish(slotOffset(seq, mask), seq, op.id(), input == null ? 0 : CALL_HAS_INPUT, ctx, a, b,
                in.address(), input == null ? 0 : input.length, FLAG_PARKED);
        return call;
    }

    private MemorySegment copyIn(byte[] input) {
        if (input.length > maxInputBytes) {
            throw new IllegalArgumentException("input of " + input.length + " bytes exceeds maxInputBytes="
                    + maxInputBytes + " (raise it with Engine.builder().maxInputBytes(...))");
        }
        MemorySegment p = FerryNative.ferry_alloc(input.length);
        if (p.equals(MemorySegment.NULL)) {
            throw new FerryException("cannot allocate " + input.length + " native bytes for a call's input");
        }
        MemorySegment.copy(input, 0, p.reinterpret(input.length), ValueLayout.JAVA_BYTE, 0, input.length);
        return p;
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

    private EngineClosedException closed() {
        return new EngineClosedException("engine '" + name + "' is closed; no new calls are accepted");
    }

    private static long deadline(long timeoutNs) {
        if (timeoutNs == NO_DEADLINE) {
            return NO_DEADLINE;
        }
        long now = System.nanoTime();
        return timeoutNs >= NO_DEADLINE - now ? NO_DEADLINE - 1 : now + Math.max(0, timeoutNs);
    }

    /** One atomic add: the multi-producer claim. Rejects when the tail's CLOSED bit is set. */
    private long claim() {
        long t;
        try {
            t = (long) LONG.getAndAdd(region, TAIL, 1L);
        } catch (IllegalStateException arenaClosed) {
            throw closed();
        }
        if (t < 0) {
            throw closed();
        }
        return t;
    }

    /** A CAS claim that only takes a sequence whose slot is already free; -1 if the ring is full. */
    private long tryClaim() {
        try {
            for (;;) {
                long t = (long) LONG.getVolatile(region, TAIL);
                if (t < 0) {
                    throw closed();
                }
                long st = (long) LONG.getAcquire(region, slotOffset(t, mask));
                if (st != t << SEQ_SHIFT) {
                    // Either the slot's previous caller has not taken its result (full), or another
                    // producer just claimed t; re-read the tail to tell the two apart.
                    if ((long) LONG.getVolatile(region, TAIL) == t) {
                        return -1;
                    }
                    continue;
                }
                if (LONG.compareAndSet(region, TAIL, t, t + 1)) {
                    return t;
                }
            }
        } catch (IllegalStateException arenaClosed) {
            throw closed();
        }
    }

    /** Claims with {@link #tryClaim()} until the deadline: a timed call never waits after its claim. */
    private long claimBefore(long deadline) throws TimeoutException {
        long seq = tryClaim();
        long parkNs = 1_000;
        while (seq < 0) {
            long now = System.nanoTime();
            if (now >= deadline) {
                throw new TimeoutException("engine '" + name + "': no free slot before the deadline; call not sent");
            }
            if (abandoned) {
                throw closed();
            }
            if (Thread.currentThread().isInterrupted()) {
                throw new CallInterruptedException("engine '" + name + "': the caller was interrupted while it"
                        + " waited for a free slot; call not sent");
            }
            LockSupport.parkNanos(this, Math.min(parkNs, deadline - now));
            parkNs = Math.min(parkNs * 2, 1_000_000);
            seq = tryClaim();
        }
        return seq;
    }

    /**
     * Backpressure: waits until the slot's previous caller released it. Spins (yielding once the spin
     * passes {@link #YIELD_AFTER_NS}, so that more spinners than cores still make progress), then parks
     * on the slot's waiter queue; the releaser of the previous lap unparks it.
     */
    private void awaitFree(long base, long seq) {
        long want = seq << SEQ_SHIFT;
        // Pairs with the release store of FREE(seq) by the previous lap's caller (or the engine).
        if ((long) LONG.getAcquire(region, base) == want) {
            return;
        }
        long start = System.nanoTime();
        for (int i = 1; ; i++) {
            if ((long) LONG.getAcquire(region, base) == want) {
                return;
            }
            if ((i & 63) == 0) {
                long spun = System.nanoTime() - start;
                if (spun >= callerSpinNs) {
                    break;
                }
                if (spun >= YIELD_AFTER_NS) {
                    Thread.yield();
                    continue;
                }
            }
            Thread.onSpinWait();
        }
        int idx = (int) (seq & mask);
        FreeWaiter waiter = new FreeWaiter(seq, Thread.currentThread());
        ConcurrentLinkedQueue<FreeWaiter> queue = freeWaiterQueue(idx);
        queue.add(waiter);
        // A full fence (atomic add) before the re-check below: a releaser that stored FREE before we
        // registered is seen by the re-check; one after it sees the count and unparks us. The
        // releaser's side has no fence (it would cost every call), so a 1 ms park bounds the rare miss.
        FREE_WAITERS.getAndAdd(this, 1);
        // The sequence is claimed: it must be published, so an interrupt cannot end this wait. It is
        // cleared while parked (park returns at once while it is set) and set again once the slot is
        // free; the call is then published and given up by its first wait.
        boolean interrupted = false;
        try {
            while ((long) LONG.getAcquire(region, base) != want) {
                if (abandoned) {
                    throw new EngineClosedException("engine '" + name + "' stopped before a slot became free");
                }
                LockSupport.parkNanos(this, 1_000_000);
                interrupted |= Thread.interrupted();
            }
        } finally {
            FREE_WAITERS.getAndAdd(this, -1);
            queue.remove(waiter);
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private record FreeWaiter(long seq, Thread thread) {
    }

    private ConcurrentLinkedQueue<FreeWaiter> freeWaiterQueue(int idx) {
        ConcurrentLinkedQueue<FreeWaiter> q = freeWaiterQueues.get(idx);
        if (q == null) {
            freeWaiterQueues.compareAndSet(idx, null, new ConcurrentLinkedQueue<>());
            q = freeWaiterQueues.get(idx);
        }
        return q;
    }

    private void wakeFreeWaiter(long freedSeq) {
        ConcurrentLinkedQueue<FreeWaiter> q = freeWaiterQueues.get((int) (freedSeq & mask));
        if (q != null) {
            for (FreeWaiter w : q) {
                if (w.seq == freedSeq) {
                    LockSupport.unpark(w.thread);
                }
            }
        }
    }

    /** Writes and publishes a claimed slot; wakes the engine if it sleeps. Returns whether it woke it. */
    private boolean writeAndPublish(long base, long seq, int op, int flags, long ctx, long a, long b, long inPtr,
            long inLen, long stateFlags) {
        boolean published = false;
        try {
            INT.set(region, base + SLOT_OP, op);
            INT.set(region, base + SLOT_FLAGS, flags);
            LONG.set(region, base + SLOT_CTX, ctx);
            LONG.set(region, base + SLOT_ARG0, a);
            LONG.set(region, base + SLOT_ARG1, b);
            if ((flags & CALL_HAS_INPUT) != 0) {
                LONG.set(region, base + SLOT_IN_PTR, inPtr);
                LONG.set(region, base + SLOT_IN_LEN, inLen);
            }
            // Volatile store: releases the plain stores above to the engine's acquire load, and orders
            // this store before the load of `sleeping` below (Dekker pair with ferry__sleep in C).
            LONG.setVolatile(region, base, (seq << SEQ_SHIFT) | stateFlags | PHASE_PUBLISHED);
            published = true;
        } finally {
            if (!published) {
                // Something threw between claim and publish: publish an abort record so the engine,
                // which never skips a claimed slot, is not left waiting for this one. The engine
                // ignores an abort record's input, so the input is still ours to free.
                INT.set(region, base + SLOT_OP, OP_ABORT);
                LONG.setVolatile(region, base, (seq << SEQ_SHIFT) | FLAG_GONE | PHASE_PUBLISHED);
                if (inPtr != 0) {
                    FerryNative.ferry_free(MemorySegment.ofAddress(inPtr));
                }
            }
        }
        if ((int) INT.getVolatile(region, ENGINE_SLEEPING) != 0) {
            FerryNative.ferry_engine_wake(handle);
            return true;
        }
        return false;
    }

    /**
     * Spins on the slot for the spin budget (a platform thread yields after a while; a virtual thread
     * waits as {@link #spinVirtual} says). Returns the DONE state, or -1 when the budget ran out and
     * the caller should {@link #park}. Gives the call up at the deadline.
     */
    private long spin(long base, long seq, long deadline) throws TimeoutException {
        // Pairs with the engine's release (acq_rel add) that made the slot DONE.
        long st = (long) LONG.getAcquire(region, base);
        if ((st & PHASE_MASK) == PHASE_DONE) {
            return st;
        }
        Thread self = Thread.currentThread();
        if (self.isInterrupted()) {
            return -1; // an interrupted caller never spins: it parks, and parking gives the call up
        }
        if (self.isVirtual()) {
            return spinVirtual(base, seq, deadline);
        }
        return spinThenYield(base, seq, deadline, YIELD_AFTER_NS);
    }

    /** Spins, then polls between yields once it spun {@code yieldAfterNs}, for the spin budget. */
    private long spinThenYield(long base, long seq, long deadline, long yieldAfterNs) throws TimeoutException {
        // The clock is first read after 64 polls: most calls are done by then, and a clock read costs
        // ~20 ns here (a tenth of a spinning round trip in a profile).
        long start = 0;
        for (int i = 1; ; i++) {
            long st = (long) LONG.getAcquire(region, base);
            if ((st & PHASE_MASK) == PHASE_DONE) {
                return st;
            }
            if ((i & 63) == 0) {
                long now = System.nanoTime();
                if (start == 0) {
                    start = now;
                }
                if (now >= deadline) {
                    return abandon(base, seq);
                }
                if (now - start >= callerSpinNs) {
                    return -1;
                }
                if (now - start >= yieldAfterNs) {
                    Thread.yield();
                    continue;
                }
            }
            Thread.onSpinWait();
        }
    }

    /**
     * A virtual thread's wait, by its place in the queue. Its carrier is one of a few (one per core by
     * default) that the engine thread competes with for the cores: a virtual thread that spins, or
     * polls between yields, keeps a carrier busy, and a busy carrier takes CPU time from the engine
     * that the call is waiting for. So a virtual thread looks at how many calls ahead of its own the
     * engine has not started yet (stats.started, a plain read: only a hint) and
     * <ul>
     *   <li>parks at once if that is more than {@value #VIRTUAL_SPIN_MAX_AHEAD}: its call cannot be
     *       done within a spin, and parked, it leaves the CPU to the engine and the carrier to other
     *       virtual threads. Unless the engine's calls are long (stats.call_ns at least
     *       {@value #VIRTUAL_LONG_CALL_NS} ns): then it spins {@value #VIRTUAL_YIELD_AFTER_NS} ns and
     *       polls between yields up to the spin budget before it parks, as all virtual threads did
     *       before. With calls that long the engine does not miss the few carrier cycles this takes,
     *       but it does miss the wake-ups: a carrier with no virtual thread to run goes to sleep, and
     *       the engine's next wake upcall then pays a system call to wake it (64 virtual threads
     *       inserting into a WAL file: ~20% fewer inserts when they all parked at once);
     *   <li>otherwise spins, without yielding, for about what the calls ahead and its own take
     *       ({@value #VIRTUAL_NS_PER_CALL_AHEAD} ns each, plus {@value #VIRTUAL_SPIN_NS} ns), then polls
     *       between yields (other virtual threads run in between) up to the spin budget, and parks.
     * </ul>
     * Measured on 2 vCPUs with 64 virtual threads making SQLite point selects (bench/SQLITE.md): the
     * yield-polling this replaces kept both carriers busy and left the engine about a third of the
     * machine.
     */
    private long spinVirtual(long base, long seq, long deadline) throws TimeoutException {
        long ahead = seq - (long) LONG.getOpaque(region, STATS_STARTED); // started = last started seq + 1
        if (ahead > VIRTUAL_SPIN_MAX_AHEAD) {
            if ((long) LONG.getOpaque(region, STATS_CALL_NS) >= VIRTUAL_LONG_CALL_NS) {
                return spinThenYield(base, seq, deadline, VIRTUAL_YIELD_AFTER_NS);
            }
            return -1;
        }
        // Our call is next or nearly: spin about as long as the calls ahead and ours take, then poll
        // between yields (other virtual threads run in between). Parking once that spin ran out while
        // the engine had not started the call made a lone virtual thread park on every call: the engine
        // was still in the upcall that had woken it.
        return spinThenYield(base, seq, deadline,
                (Math.max(ahead, 0) + 1) * VIRTUAL_NS_PER_CALL_AHEAD + VIRTUAL_SPIN_NS);
    }

    /** {@link #parkUntilDone} for a 64-bit result: allocates nothing. */
    private long parkLong(long base, long seq, long deadline, Op op) throws TimeoutException {
        ParkedCall parked = parkUntilDone(base, seq, deadline, op, AsyncCall.KIND_LONG);
        if (parked == null) {
            return takeLong(base, seq, op);
        }
        try {
            return parked.longResult();
        } finally {
            parked.clear();
        }
    }

    /** {@link #parkUntilDone} for a bytes or string result. */
    private Object parkObject(long base, long seq, long deadline, Op op, int kind) throws TimeoutException {
        ParkedCall parked = parkUntilDone(base, seq, deadline, op, kind);
        if (parked == null) {
            byte[] bytes = takeBytes(base, seq, op); // parkUntilDone's acquire load saw DONE
            return kind == AsyncCall.KIND_STRING ? new String(bytes, StandardCharsets.UTF_8) : bytes;
        }
        try {
            return parked.objectResult();
        } finally {
            parked.clear();
        }
    }

    /**
     * The slow path: announce PARKED and park until the engine's wake upcall hands over the outcome.
     * Once PARKED is set the slot is no longer ours: the upcall takes the result out of it and frees it
     * right away, so a parked caller (which may take long to be scheduled again) never holds a slot
     * and never stalls the ring for the calls behind it.
     *
     * @return the done ParkedCall holding the outcome, or null if the call was DONE before we could
     *     announce PARKED: then the result is still in the slot and still ours to take
     */
    private ParkedCall parkUntilDone(long base, long seq, long deadline, Op op, int kind) throws TimeoutException {
        int idx = (int) (seq & mask);
        ParkedCall parked = ParkedCall.forCall(seq, op, kind);
        // A volatile store: publishes the ParkedCall's fields to the upcall, which reads this entry.
        waiters.set(idx, parked);
        // Announce PARKED. The CAS fails if the engine moved the phase meanwhile; re-read and retry.
        for (;;) {
            long st = (long) LONG.getAcquire(region, base);
            if ((st & PHASE_MASK) == PHASE_DONE) {
                waiters.compareAndSet(idx, parked, null);
                parked.clear();
                return null;
            }
            if (LONG.compareAndSet(region, base, st, st | FLAG_PARKED)) {
                break;
            }
        }
        boolean ok = false;
        try {
            awaitDone(base, seq, deadline, parked);
            ok = true;
        } finally {
            if (!ok) {
                parked.clear();
            }
        }
        return parked;
    }

    /**
     * Parks until the upcall marks {@code parked} done. An interrupt gives the call up as a timeout does
     * and throws {@link CallInterruptedException}; the interrupt status is cleared while parked (park
     * returns at once while it is set) and set again before returning or throwing.
     */
    private void awaitDone(long base, long seq, long deadline, ParkedCall parked) throws TimeoutException {
        boolean interrupted = false;
        try {
            awaitDoneInterruptibly(base, seq, deadline, parked);
        } catch (InterruptedException e) {
            interrupted = true;
            if (abandonParked(base, seq, parked)) {
                throw new CallInterruptedException("engine '" + name + "': the caller was interrupted, so the call was"
                        + " given up: " + givenUp(seq));
            }
            awaitHandOver(parked); // DONE already: the upcall is handing the outcome over
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    /** Waits, with the interrupt status cleared, for an upcall that already saw DONE. */
    private void awaitHandOver(ParkedCall parked) {
        boolean interrupted = false;
        while (!parked.done) {
            if (abandoned) {
                parked.discard(); // a late upcall may still reach it
                throw new EngineClosedException("engine '" + name + "' stopped before the call completed");
            }
            LockSupport.park(this);
            interrupted |= Thread.interrupted();
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    private void awaitDoneInterruptibly(long base, long seq, long deadline, ParkedCall parked)
            throws TimeoutException, InterruptedException {
        while (!parked.done) {
            if (Thread.interrupted()) {
                throw new InterruptedException();
            }
            if (abandoned) {
                parked.discard(); // a late upcall may still reach it
                throw new EngineClosedException("engine '" + name + "' stopped before the call completed");
            }
            if (deadline == NO_DEADLINE) {
                LockSupport.park(this);
            } else {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    if (abandonParked(base, seq, parked)) {
                        throw timedOut(seq);
                    }
                    deadline = NO_DEADLINE; // DONE already: the upcall is handing the result over
                    continue;
                }
                LockSupport.parkNanos(this, left);
            }
        }
    }

    /**
     * Sets GONE on a parked call unless it is DONE (the slot may have moved on, hence the seq check).
     * Returns true if it gave the call up, false if the call was already done.
     */
    private boolean abandonParked(long base, long seq, ParkedCall parked) {
        for (;;) {
            long st = (long) LONG.getAcquire(region, base);
            if ((st >>> SEQ_SHIFT) != seq || (st & PHASE_MASK) == PHASE_DONE) {
                return false;
            }
            if (LONG.compareAndSet(region, base, st, st | FLAG_GONE)) {
                // GONE: the engine skips the call or discards its result and will make no upcall.
                waiters.compareAndSet((int) (seq & mask), parked, null);
                return true;
            }
        }
    }

    /**
     * The timeout for a call its caller has just given up (GONE set by a CAS, a full fence). The engine
     * stores stats.started = seq + 1 and then re-reads the slot before it runs a call (ferry.h, "Starting a
     * call"): if started is still <= seq here, the engine's re-read comes after our GONE and it will
     * skip the call. Otherwise it may have started it, and will discard its result.
     */
    private TimeoutException timedOut(long seq) {
        return new TimeoutException("engine '" + name + "': call timed out; " + givenUp(seq));
    }

    /** What happens to a call its caller just gave up (see {@link #timedOut}). */
    private String givenUp(long seq) {
        boolean skipped = (long) LONG.getVolatile(region, STATS_STARTED) <= seq;
        return skipped ? "the engine will skip it" : "it was already running and its result will be discarded";
    }

    /**
     * The caller gives up: sets GONE unless the call is already DONE. The engine then skips the call if
     * it had not started it, and releases the slot itself. Returns the DONE state if it won the race.
     */
    private long abandon(long base, long seq) throws TimeoutException {
        for (;;) {
            long st = (long) LONG.getAcquire(region, base);
            if ((st & PHASE_MASK) == PHASE_DONE) {
                return st;
            }
            if (LONG.compareAndSet(region, base, st, st | FLAG_GONE)) {
                throw timedOut(seq);
            }
        }
    }

    /** Cancels an async call if it is not done: the engine skips it or discards its result. */
    boolean cancel(long seq, Object waiter) {
        if (lifecycle == CLOSED) {
            return false; // close() ended every call, and the region may be freed
        }
        try {
            return setGoneUnlessDone(seq, waiter);
        } catch (IllegalStateException regionFreed) {
            return false; // close() freed the region meanwhile: the call was ended by it
        }
    }

    private boolean setGoneUnlessDone(long seq, Object waiter) {
        long base = slotOffset(seq, mask);
        for (;;) {
            long st = (long) LONG.getAcquire(region, base);
            if ((st >>> SEQ_SHIFT) != seq || (st & PHASE_MASK) == PHASE_DONE || (st & FLAG_GONE) != 0) {
                return false;
            }
            if (LONG.compareAndSet(region, base, st, st | FLAG_GONE)) {
                // GONE: the engine will neither run nor report this call, and releases the slot itself.
                waiters.compareAndSet((int) (seq & mask), waiter, null);
                return true;
            }
        }
    }

    private void release(long base, long seq) {
        // Pairs with the next lap's producer acquire load in awaitFree/tryClaim.
        LONG.setRelease(region, base, (seq + capacity) << SEQ_SHIFT);
        if (freeWaiters != 0) {
            wakeFreeWaiter(seq + capacity);
        }
    }

    private long takeLong(long base, long seq, Op op) {
        int err = (int) INT.get(region, base + SLOT_ERR);
        if (err != 0) {
            throw takeFailure(base, seq, err, op);
        }
        long result = (long) LONG.get(region, base + SLOT_RESULT);
        if ((int) INT.get(region, base + SLOT_OUT_KIND) != OUT_NONE) {
            FerryNative.ferry_free(MemorySegment.ofAddress((long) LONG.get(region, base + SLOT_OUT_PTR)));
        }
        release(base, seq);
        return result;
    }

    @SuppressWarnings("restricted")
    private byte[] takeBytes(long base, long seq, Op op) {
        int err = (int) INT.get(region, base + SLOT_ERR);
        if (err != 0) {
            throw takeFailure(base, seq, err, op);
        }
        int kind = (int) INT.get(region, base + SLOT_OUT_KIND);
        byte[] out = null;
        if (kind == OUT_BYTES) {
            long ptr = (long) LONG.get(region, base + SLOT_OUT_PTR);
            long len = (long) LONG.get(region, base + SLOT_OUT_LEN);
            try {
                if (len > Integer.MAX_VALUE - 8) {
                    throw new FerryException("op '" + op.name() + "' returned " + len
                            + " bytes, more than a Java array holds");
                }
                MemorySegment p = MemorySegment.ofAddress(ptr);
                out = p.reinterpret(len).toArray(ValueLayout.JAVA_BYTE);
            } finally {
                FerryNative.ferry_free(MemorySegment.ofAddress(ptr));
                release(base, seq);
            }
            return out;
        }
        release(base, seq);
        return new byte[0];
    }

    @SuppressWarnings("restricted")
    private CallFailedException takeFailure(long base, long seq, int err, Op op) {
        String message = "(no message)";
        if ((int) INT.get(region, base + SLOT_OUT_KIND) == OUT_ERROR) {
            long ptr = (long) LONG.get(region, base + SLOT_OUT_PTR);
            long len = (long) LONG.get(region, base + SLOT_OUT_LEN);
            if (ptr != 0) {
                MemorySegment p = MemorySegment.ofAddress(ptr).reinterpret(len + 1);
                message = new String(p.toArray(ValueLayout.JAVA_BYTE), 0, (int) len, StandardCharsets.UTF_8);
                FerryNative.ferry_free(p);
            }
        } else if ((int) INT.get(region, base + SLOT_OUT_KIND) == OUT_BYTES) {
            FerryNative.ferry_free(MemorySegment.ofAddress((long) LONG.get(region, base + SLOT_OUT_PTR)));
        }
        long detail = (long) LONG.get(region, base + SLOT_RESULT);
        release(base, seq);
        return new CallFailedException(op.name(), err, message, detail);
    }

    /**
     * On the engine thread, from the wake upcall: moves a parked call's outcome out of its slot into the
     * ParkedCall (a 64-bit result stays primitive), frees the slot and unparks the caller.
     */
    private void completeParked(int idx, ParkedCall parked) {
        long seq = parked.seq;
        if (!isDone(seq)) {
            return; // a late wake meant for an earlier caller of this slot
        }
        waiters.compareAndSet(idx, parked, null);
        long base = slotOffset(seq, mask);
        try {
            if (parked.kind == AsyncCall.KIND_LONG) {
                parked.value = takeLong(base, seq, parked.op);
            } else {
                byte[] bytes = takeBytes(base, seq, parked.op);
                parked.outcome = parked.kind == AsyncCall.KIND_STRING ? new String(bytes, StandardCharsets.UTF_8) : bytes;
            }
        } catch (FerryException e) {
            parked.outcome = e;
        } catch (Throwable t) {
            parked.outcome = new FerryException("internal error while handing over the result of op '"
                    + parked.op.name() + "'", t);
        }
        Thread caller = parked.thread;
        parked.done = true; // release: the outcome above is visible to the caller that sees done
        LockSupport.unpark(caller);
    }

    /**
     * On the engine thread, from the wake upcall: if the call at seq is done, unregisters its waiter,
     * takes its outcome out of the slot and frees the slot. Null for a late wake meant for an earlier
     * caller of this slot.
     */
    Object takeOutcome(int idx, Object waiter, long seq, Op op, int kind) {
        if (!isDone(seq)) {
            return null;
        }
        waiters.compareAndSet(idx, waiter, null);
        return takeAsync(seq, op, kind);
    }

    /** Reads a parked or async call's outcome and releases its slot. */
    private Object takeAsync(long seq, Op op, int kind) {
        long base = slotOffset(seq, mask);
        // takeOutcome's isDone made the acquire load that saw DONE.
        try {
            if (kind == AsyncCall.KIND_LONG) {
                return takeLong(base, seq, op);
            }
            byte[] bytes = takeBytes(base, seq, op);
            return kind == AsyncCall.KIND_STRING ? new String(bytes, StandardCharsets.UTF_8) : bytes;
        } catch (FerryException e) {
            return e;
        }
    }

    private boolean isDone(long seq) {
        long st = (long) LONG.getAcquire(region, slotOffset(seq, mask));
        return (st >>> SEQ_SHIFT) == seq && (st & PHASE_MASK) == PHASE_DONE;
    }

    Executor completionExecutor() {
        return completionExecutor;
    }

    /** The engine thread's upcall: wake a parked caller, or finish an async call. Never throws. */
    private void onWake(int idx) {
        try {
            if (idx == WAKE_HELLO) {
                Thread self = Thread.currentThread();
                self.setName(name); // the JVM attached the engine pthread as "Thread-N"
                EngineThreadName.set(name);
                helloThread = self;
                return;
            }
            Object w = waiters.get(idx);
            if (w instanceof ParkedCall parked) {
                completeParked(idx, parked);
            } else if (w instanceof AsyncCall<?> call) {
                call.onDone(idx);
            }
        } catch (Throwable t) {
            // An exception escaping an upcall kills the VM. No caller is left to hand this to (a waiter's
            // own failures reach its future), so it goes to the log.
            LOG.log(System.Logger.Level.WARNING, "engine '" + name + "': the wake upcall for slot " + idx
                    + " failed; the call it was meant to complete may never report", t);
        }
    }

    // ---- shutdown ---------------------------------------------------------------------------------

    /**
     * Stops intake, lets the engine run every call accepted before that point, stops and joins the
     * engine thread and frees the region. Idempotent, safe from any thread, bounded by the close timeout:
     * if the engine does not stop in time (an op that never returns), every waiting caller is failed
     * with EngineClosedException and the native memory is deliberately leaked, since the engine thread
     * may still touch it.
     */
    public void close() {
        close(closeTimeoutNs);
    }

    public void close(long timeoutNs) {
        boolean first = LIFECYCLE.compareAndSet(this, OPEN, CLOSING);
        if (Thread.currentThread() == engineThread) {
            // Closing from a callback on the engine thread: stop intake now; finish on another thread,
            // since the engine cannot stop while this callback runs.
            if (first) {
                FerryNative.ferry_engine_stop(handle);
                Thread.ofPlatform().daemon().name("ferry-close-" + name).start(() -> finishClose(timeoutNs));
            }
            return;
        }
        if (first) {
            FerryNative.ferry_engine_stop(handle);
            finishClose(timeoutNs);
            return;
        }
        // Another thread is closing: return only once it has joined the engine thread. Its close is
        // bounded by its own timeout, so this wait is too.
        awaitCloseFinished();
    }

    private void awaitCloseFinished() {
        boolean interrupted = false;
        for (;;) {
            try {
                closeFinished.await();
                break;
            } catch (InterruptedException e) {
                interrupted = true; // keep waiting: close() promises a stopped engine
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** How long close() waits for the engine to stop, as the builder's closeTimeout set it. */
    long closeTimeoutNs() {
        return closeTimeoutNs;
    }

    private void finishClose(long timeoutNs) {
        {
            try {
                long deadline = deadline(timeoutNs);
                boolean stopped = awaitCondition(deadline,
                        () -> (int) INT.getAcquire(region, ENGINE_STATE) == ENGINE_STOPPED);
                if (!stopped || FerryNative.ferry_engine_join(handle, Math.max(0, deadline - System.nanoTime())) != 0) {
                    abandonEngine();
                    return;
                }
                FerryNative.ferry_engine_destroy(handle);
                // Every accepted call is DONE; wait (bounded) for callers to take their results, so
                // freeing the region cannot pull memory from under a caller still reading it.
                boolean drained = awaitCondition(deadline(1_000_000_000L), this::allSlotsFree);
                if (drained && closeArena()) {
                    LIFECYCLE.setVolatile(this, CLOSED);
                } else {
                    LIFECYCLE.setVolatile(this, CLOSED); // leak the region rather than free it under a reader
                }
            } finally {
                closeFinished.countDown();
                Lifecycle.unregister(this);
            }
        }
    }

    private boolean closeArena() {
        // A shared arena closes with a handshake: it fails (and stays open) if a thread is inside an
        // access at that instant, so retry a few times.
        for (int i = 0; i < 100; i++) {
            try {
                arena.close();
                return true;
            } catch (IllegalStateException busy) {
                Thread.onSpinWait();
            }
        }
        return false;
    }

    private void abandonEngine() {
        abandoned = true;
        LIFECYCLE.setVolatile(this, CLOSED);
        for (int i = 0; i < capacity; i++) {
            Object w = waiters.get(i);
            if (w instanceof ParkedCall parked) {
                LockSupport.unpark(parked.thread);
            } else if (w instanceof AsyncCall<?> call) {
                call.failClosed("engine '" + name + "' did not stop within the close timeout");
            }
        }
    }

    private boolean allSlotsFree() {
        for (int i = 0; i < capacity; i++) {
            long st = (long) LONG.getAcquire(region, OFF_SLOTS + i * SLOT_SIZE);
            if ((st & 0xff) != 0) {
                return false;
            }
        }
        return true;
    }

    private boolean awaitCondition(long deadline, java.util.function.BooleanSupplier condition) {
        long parkNs = 10_000;
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() >= deadline) {
                return false;
            }
            LockSupport.parkNanos(this, parkNs);
            parkNs = Math.min(parkNs * 2, 5_000_000);
        }
        return true;
    }

    boolean abandoned() {
        return abandoned;
    }

    @Override
    public String toString() {
        return "Engine[" + name + ", capacity=" + capacity + (lifecycle == OPEN ? "" : ", closed") + "]";
    }
}
