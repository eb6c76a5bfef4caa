package io.ferry.internal;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.BytesToLongOp;
import io.ferry.CallFailedException;
import io.ferry.Engine;
import io.ferry.ExecutionContext;
import io.ferry.LongOp;
import io.ferry.internal.DowncallChannels.Channel;
import java.lang.foreign.AddressLayout;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.GroupLayout;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.Collections;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.WeakHashMap;
import java.util.concurrent.CompletableFuture;

/**
 * Engine-thread downcall handles ({@link Engine#downcallHandle}): a {@link MethodHandle} of exactly the
 * type {@code Linker.nativeLinker().downcallHandle(address, function)} has, whose invocation runs the
 * native function on the engine thread. No Java runs there: the engine's C side calls the function
 * through libffi ({@code native/src/ferry_ffi.c}) with the call interface it built once, when the handle
 * was made ({@code ferry.ffi_prepare}).
 *
 * <p>A call, in the handle's own method-handle combinators (no lambda, no boxing, nothing allocated):
 * each argument is converted to 64 bits (a float to its raw bits, a {@code MemorySegment} to its
 * address, after the checks Linker makes); for two or more, they are written at 8-byte steps into a
 * channel (the calling thread's own, see {@link DowncallChannels}); {@code ferry.ffi_call} (the handle's token, then the
 * one argument or the channel's id) runs through the ring as any op does, in the engine's systemic
 * context; the 64-bit result is converted to the return type. A
 * function of one argument thus costs what a C op does plus libffi's call; the channel of a longer one
 * adds a second cache line that travels to the engine and back. Segment arguments are kept reachable until the call returned
 * (a {@code tryFinally} with {@link Reference#reachabilityFence}).
 */
public final class Downcalls {
    /** FERRY_FFI_MAX_ARGS. */
    static final int MAX_ARGS = 64;
    private static final int E_NOT_FOUND = -12;

    // FERRY_FFI_* kinds
    private static final byte VOID = 0, BOOL = 1, I8 = 2, I16 = 3, U16 = 4, I32 = 5, I64 = 6, F32 = 7, F64 = 8,
            PTR = 9;

    private static final MethodHandle RUN, RUN0, RUN1, WRITE, ACQUIRE, ACQUIRE_SHARED, FENCE, ASYNC, ASYNC0, ASYNC1;
    private static final Map<Class<?>, MethodHandle> TO_LONG = new java.util.HashMap<>();
    private static final Map<Class<?>, MethodHandle> FROM_LONG = new java.util.HashMap<>();

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            RUN = l.findStatic(Downcalls.class, "run", MethodType.methodType(long.class, Downcall.class, Channel.class));
            RUN0 = l.findStatic(Downcalls.class, "run0", MethodType.methodType(long.class, Downcall.class));
            RUN1 = l.findStatic(Downcalls.class, "run1", MethodType.methodType(long.class, Downcall.class, long.class));
            ASYNC1 = l.findStatic(Downcalls.class, "runAsync1",
                    MethodType.methodType(CompletableFuture.class, Downcall.class, long.class));
            ASYNC = l.findStatic(Downcalls.class, "runAsync",
                    MethodType.methodType(CompletableFuture.class, Downcall.class, Channel.class));
            ASYNC0 = l.findStatic(Downcalls.class, "runAsync0",
                    MethodType.methodType(CompletableFuture.class, Downcall.class));
            WRITE = l.findStatic(Downcalls.class, "write",
                    MethodType.methodType(void.class, Channel.class, long.class, long.class));
            ACQUIRE = l.findStatic(Downcalls.class, "acquire", MethodType.methodType(Channel.class, Downcall.class));
            ACQUIRE_SHARED = l.findStatic(Downcalls.class, "acquireShared",
                    MethodType.methodType(Channel.class, Downcall.class));
            FENCE = l.findStatic(Reference.class, "reachabilityFence", MethodType.methodType(void.class, Object.class))
                    .asType(MethodType.methodType(void.class, MemorySegment.class));
            for (Class<?> c : List.of(boolean.class, byte.class, short.class, char.class, int.class, long.class,
                    float.class, double.class, MemorySegment.class)) {
                String n = c == MemorySegment.class ? "Segment" : Character.toUpperCase(c.getName().charAt(0))
                        + c.getName().substring(1);
                TO_LONG.put(c, l.findStatic(Downcalls.class, "from" + n, MethodType.methodType(long.class, c)));
                FROM_LONG.put(c, l.findStatic(Downcalls.class, "to" + n, MethodType.methodType(c, long.class)));
            }
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private Downcalls() {
    }

    // ---- the process's key ------------------------------------------------------------------------

    // uint64_t ferry_ffi_key(void)
    private static final class ferry_ffi_key {
        static final long KEY = fetch();

        @SuppressWarnings("restricted")
        private static long fetch() {
            MemorySegment address = NativeLibrary.lookup().find("ferry_ffi_key")
                    .orElseThrow(() -> new UnsatisfiedLinkError("libferry has no symbol ferry_ffi_key"));
            MethodHandle h = Linker.nativeLinker().downcallHandle(address, FunctionDescriptor.of(JAVA_LONG));
            try {
                return (long) h.invokeExact();
            } catch (Throwable t) {
                throw new AssertionError("unexpected exception from a native call", t);
            }
        }
    }

    /** The key ferry.ffi_prepare and ferry.ffi_channel demand; only code with native access can learn it. */
    static long key() {
        return ferry_ffi_key.KEY;
    }

    // ---- one engine's channels ----------------------------------------------------------------------

    /** Keyed by the core, which the engine thread's upcall keeps reachable while the engine can run. */
    private static final Map<EngineCore, DowncallChannels> CHANNELS = new WeakHashMap<>();

    private static synchronized DowncallChannels channels(EngineCore core) {
        return CHANNELS.computeIfAbsent(core, c -> new DowncallChannels());
    }

    // ---- one handle -------------------------------------------------------------------------------

    /** What every call of one handle needs: immutable, bound into the handle's combinators. */
    static final class Downcall {
        final LongOp call;
        final LongOp make;
        final ExecutionContext system;
        /** The handle's token from ferry.ffi_prepare (its index and random bits): ferry.ffi_call's arg0. */
        final long token;
        final DowncallChannels channels;

        Downcall(LongOp call, LongOp make, ExecutionContext system, long token, DowncallChannels channels) {
            this.call = call;
            this.make = make;
            this.system = system;
            this.token = token;
            this.channels = channels;
        }
    }

    /**
     * Binds a native function for calls on the engine thread: by address, or (address null) by symbol
     * name, looked up by the engine in its library (and the libraries it links), then the process's
     * global scope.
     *
     * @param async false: the handle returns what the function returns; true: it returns a
     *        {@code CompletableFuture} of the boxed return value (of {@code Void} for a void function)
     */
    @SuppressWarnings("restricted")
    public static MethodHandle bind(Engine engine, EngineCore core, MemorySegment address, String symbol,
            FunctionDescriptor function, boolean async) {
        Objects.requireNonNull(function, "function");
        for (MemoryLayout a : function.argumentLayouts()) {
            refuseGroup(a, "an argument");
        }
        function.returnLayout().ifPresent(r -> refuseGroup(r, "the return value"));
        if (function.argumentLayouts().size() > MAX_ARGS) {
            throw new IllegalArgumentException("function=" + function + ": " + function.argumentLayouts().size()
                    + " arguments, at most " + MAX_ARGS);
        }
        // The Linker checks the layouts exactly as it would for its own handle, and says what it would
        // return: that handle's type without its leading address parameter.
        MethodType type = Linker.nativeLinker().downcallHandle(function).type().dropParameterTypes(0, 1);
        if (address != null && address.address() == 0) {
            throw new IllegalArgumentException("address=" + address + ": the function's address is NULL");
        }
        byte[] input = prepareInput(address == null ? 0 : address.address(), symbol, function);
        ExecutionContext system = engine.systemContext();
        BytesToLongOp prepare = io.ferry.spi.EngineOps.internal(engine, "ferry.ffi_prepare", BytesToLongOp.class);
        long token;
        try {
            token = prepare.call(system, 0, input);
        } catch (CallFailedException e) {
            if (e.code() == E_NOT_FOUND) {
                throw new IllegalArgumentException("unresolved symbol: " + symbol + " (engine '" + engine.name()
                        + "': " + e.engineMessage() + ")", e);
            }
            throw new IllegalArgumentException("engine '" + engine.name() + "' cannot bind "
                    + (symbol != null ? "symbol " + symbol : address) + " as " + function + ": "
                    + e.engineMessage(), e);
        }
        Downcall d = new Downcall(io.ferry.spi.EngineOps.internal(engine, "ferry.ffi_call", LongOp.class),
                io.ferry.spi.EngineOps.internal(engine, "ferry.ffi_channel", LongOp.class), system, token,
                channels(core));
        return async ? asyncHandle(d, type, function) : handle(d, type, function);
    }

    private static void refuseGroup(MemoryLayout layout, String what) {
        if (layout instanceof GroupLayout) {
            throw new IllegalArgumentException("layout=" + layout + ": " + what + " is a struct or union by value,"
                    + " which engine-thread downcalls do not pass; pass it by pointer (ADDRESS) instead");
        }
    }

    private static byte[] prepareInput(long address, String symbol, FunctionDescriptor function) {
        byte[] name = symbol == null ? new byte[0] : symbol.getBytes(StandardCharsets.UTF_8);
        List<MemoryLayout> args = function.argumentLayouts();
        ByteBuffer b = ByteBuffer.allocate(21 + args.size() + name.length).order(ByteOrder.LITTLE_ENDIAN);
        b.putLong(key()).putLong(address).putInt(args.size());
        b.put(function.returnLayout().map(Downcalls::kind).orElse(VOID));
        for (MemoryLayout a : args) {
            b.put(kind(a));
        }
        b.put(name);
        return b.array();
    }

    private static byte kind(MemoryLayout layout) {
        Class<?> c = ((ValueLayout) layout).carrier();
        if (c == boolean.class) {
            return BOOL;
        } else if (c == byte.class) {
            return I8;
        } else if (c == short.class) {
            return I16;
        } else if (c == char.class) {
            return U16;
        } else if (c == int.class) {
            return I32;
        } else if (c == long.class) {
            return I64;
        } else if (c == float.class) {
            return F32;
        } else if (c == double.class) {
            return F64;
        }
        return PTR;
    }

    /** The sync handle: (arguments) -> return value, of exactly {@code type}. */
    private static MethodHandle handle(Downcall d, MethodType type, FunctionDescriptor function) {
        int n = type.parameterCount();
        // No argument or one: nothing but the slot (one argument travels in arg1). More: a channel.
        MethodHandle mh = n == 0 ? RUN0.bindTo(d) : n == 1 ? RUN1.bindTo(d) : withChannel(RUN.bindTo(d), ACQUIRE.bindTo(d), n);
        mh = convertArguments(mh, type);
        Class<?> r = type.returnType();
        if (r == void.class) {
            mh = MethodHandles.dropReturn(mh);
        } else {
            mh = MethodHandles.filterReturnValue(mh, fromLong(r, function.returnLayout().orElseThrow()));
        }
        return fenceSegments(mh, type);
    }

    /** The async handle: (arguments) -> CompletableFuture of the boxed return value. */
    private static MethodHandle asyncHandle(Downcall d, MethodType type, FunctionDescriptor function) {
        int n = type.parameterCount();
        MethodHandle mh = n == 0 ? ASYNC0.bindTo(d) : n == 1 ? ASYNC1.bindTo(d)
                : withChannel(ASYNC.bindTo(d), ACQUIRE_SHARED.bindTo(d), n);
        mh = convertArguments(mh, type);
        Class<?> r = type.returnType();
        MethodHandle convert = r == void.class ? null : fromLong(r, function.returnLayout().orElseThrow());
        MethodHandle thenConvert = MethodHandles.insertArguments(THEN_CONVERT, 1, convert);
        return MethodHandles.filterReturnValue(mh, thenConvert);
    }

    private static final MethodHandle THEN_CONVERT;

    static {
        try {
            THEN_CONVERT = MethodHandles.lookup().findStatic(Downcalls.class, "thenConvert", MethodType.methodType(
                    CompletableFuture.class, CompletableFuture.class, MethodHandle.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** The async result, as the return type's box (a void function's future holds null). */
    private static CompletableFuture<Object> thenConvert(CompletableFuture<Long> bits, MethodHandle convert) {
        return bits.thenApply(r -> {
            if (convert == null) {
                return null;
            }
            try {
                return convert.invoke((long) r);
            } catch (Throwable t) {
                throw new AssertionError("a return conversion cannot fail", t);
            }
        });
    }

    /**
     * From {@code run}, (Channel) -> R, to (long a0, ..., long an-1) -> R: takes a channel from the pool
     * and writes argument i at {@code ARGS + 8 i} before {@code run} sends it.
     */
    private static MethodHandle withChannel(MethodHandle run, MethodHandle acquire, int n) {
        List<Class<?>> longs = Collections.nCopies(n, long.class);
        MethodHandle mh = MethodHandles.dropArguments(run, 1, longs); // (Channel, long x n) -> R
        for (int i = 0; i < n; i++) {
            MethodHandle w = MethodHandles.insertArguments(WRITE, 1, (long) DowncallChannels.ARGS + 8L * i);
            w = MethodHandles.dropArguments(w, 1, Collections.nCopies(i, long.class)); // (Channel, long x i+1)
            mh = MethodHandles.foldArguments(mh, 0, w);
        }
        return MethodHandles.foldArguments(mh, acquire); // (long x n) -> R
    }

    private static MethodHandle convertArguments(MethodHandle mh, MethodType type) {
        MethodHandle[] filters = new MethodHandle[type.parameterCount()];
        for (int i = 0; i < filters.length; i++) {
            filters[i] = TO_LONG.get(type.parameterType(i));
        }
        return filters.length == 0 ? mh : MethodHandles.filterArguments(mh, 0, filters);
    }

    @SuppressWarnings("restricted")
    private static MethodHandle fromLong(Class<?> r, MemoryLayout layout) {
        MethodHandle f = FROM_LONG.get(r);
        if (r == MemorySegment.class && layout instanceof AddressLayout a && a.targetLayout().isPresent()) {
            // As the Linker does: a pointer to a known layout comes back sized to it.
            f = MethodHandles.insertArguments(TO_SIZED_SEGMENT, 0, a.targetLayout().get().byteSize());
        }
        return f;
    }

    private static final MethodHandle TO_SIZED_SEGMENT;

    static {
        try {
            TO_SIZED_SEGMENT = MethodHandles.lookup().findStatic(Downcalls.class, "toSizedSegment",
                    MethodType.methodType(MemorySegment.class, long.class, long.class));
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Keeps every MemorySegment argument reachable until the call has returned (or thrown). */
    private static MethodHandle fenceSegments(MethodHandle mh, MethodType type) {
        if (!type.parameterList().contains(MemorySegment.class)) {
            return mh;
        }
        Class<?> r = type.returnType();
        // cleanup: (Throwable, [R,] A...) -> R, returning the result as it is
        MethodHandle cleanup = r == void.class ? MethodHandles.empty(MethodType.methodType(void.class))
                : MethodHandles.identity(r);
        cleanup = MethodHandles.dropArguments(cleanup, 0, Throwable.class);
        int lead = r == void.class ? 1 : 2;
        cleanup = MethodHandles.dropArguments(cleanup, lead, type.parameterList());
        for (int i = 0; i < type.parameterCount(); i++) {
            if (type.parameterType(i) == MemorySegment.class) {
                cleanup = MethodHandles.foldArguments(cleanup, lead + i, FENCE);
            }
        }
        return MethodHandles.tryFinally(mh, cleanup);
    }

    // ---- the pieces the combinators are made of ------------------------------------------------------

    /** The sync path: the thread's own channel. */
    private static Channel acquire(Downcall d) {
        return d.channels.mine(d.make, d.system);
    }

    /** The async path: a channel of the pool for the length of the call. */
    private static Channel acquireShared(Downcall d) {
        return d.channels.acquire(d.make, d.system);
    }

    private static void write(Channel ch, long offset, long value) {
        ch.memory.set(JAVA_LONG, offset, value);
    }

    private static long run0(Downcall d) {
        return d.call.call(d.system, d.token, -1);
    }

    private static long run1(Downcall d, long a) {
        return d.call.call(d.system, d.token, a);
    }

    private static long run(Downcall d, Channel ch) {
        boolean reusable = false;
        try {
            long r = d.call.call(d.system, d.token, ch.id);
            reusable = true;
            return r;
        } catch (CallFailedException e) {
            reusable = true; // the engine refused or finished the call: it reads the channel no more
            throw e;
        } finally {
            // Not after an interrupt or a close that gave the call up: the engine may still read it.
            if (!reusable) {
                d.channels.retireMine(ch);
            }
        }
    }

    private static CompletableFuture<Long> runAsync0(Downcall d) {
        return d.call.callAsync(d.system, d.token, -1);
    }

    private static CompletableFuture<Long> runAsync1(Downcall d, long a) {
        return d.call.callAsync(d.system, d.token, a);
    }

    private static CompletableFuture<Long> runAsync(Downcall d, Channel ch) {
        CompletableFuture<Long> f;
        try {
            f = d.call.callAsync(d.system, d.token, ch.id);
        } catch (RuntimeException | Error e) {
            d.channels.release(ch); // nothing was sent
            throw e;
        }
        // Back to the pool once the engine is done with it: a result or the engine's refusal. A future
        // cancelled or timed out by its caller (the engine may still read the channel) drops it.
        f.whenComplete((r, t) -> {
            if (t == null || t instanceof CallFailedException
                    || (t instanceof java.util.concurrent.CompletionException c && c.getCause() instanceof CallFailedException)) {
                d.channels.release(ch);
            }
        });
        return f;
    }

    // argument conversions to the channel's 64-bit words (little-endian: the low bytes are the value)
    private static long fromBoolean(boolean v) {
        return v ? 1 : 0;
    }

    private static long fromByte(byte v) {
        return v;
    }

    private static long fromShort(short v) {
        return v;
    }

    private static long fromChar(char v) {
        return v;
    }

    private static long fromInt(int v) {
        return v;
    }

    private static long fromLong(long v) {
        return v;
    }

    private static long fromFloat(float v) {
        return Float.floatToRawIntBits(v);
    }

    private static long fromDouble(double v) {
        return Double.doubleToRawLongBits(v);
    }

    /** As the Linker: a null segment is a NullPointerException, a heap one or a closed one refused. */
    private static long fromSegment(MemorySegment s) {
        if (!s.isNative()) { // null: NullPointerException here
            throw new IllegalArgumentException("Heap segment not allowed: " + s);
        }
        if (!s.scope().isAlive()) {
            throw new IllegalStateException("Already closed");
        }
        return s.address();
    }

    // return conversions from ferry.ffi_call's 64-bit result
    private static boolean toBoolean(long r) {
        return (r & 0xff) != 0;
    }

    private static byte toByte(long r) {
        return (byte) r;
    }

    private static short toShort(long r) {
        return (short) r;
    }

    private static char toChar(long r) {
        return (char) r;
    }

    private static int toInt(long r) {
        return (int) r;
    }

    private static long toLong(long r) {
        return r;
    }

    private static float toFloat(long r) {
        return Float.intBitsToFloat((int) r);
    }

    private static double toDouble(long r) {
        return Double.longBitsToDouble(r);
    }

    private static MemorySegment toSegment(long r) {
        return MemorySegment.ofAddress(r);
    }

    @SuppressWarnings("restricted")
    private static MemorySegment toSizedSegment(long size, long r) {
        return MemorySegment.ofAddress(r).reinterpret(size);
    }
}
