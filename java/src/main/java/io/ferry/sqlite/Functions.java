package io.ferry.sqlite;

import io.ferry.BytesToLongOp;
import io.ferry.CallFailedException;
import io.ferry.ExecutionContext;
import io.ferry.FerryException;
import io.ferry.spi.EngineMemory;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * The Java functions of one SQLite engine, and the one dispatcher SQLite's trampoline calls for every
 * engine of the process.
 *
 * <p>The dispatcher is an upcall stub made once, in the global arena (it is never freed, so no engine
 * thread can jump into freed code), and handed to libferry_sqlite.so by a C call,
 * {@code ferry_sqlite_set_dispatcher}, through FFM: never through an op, so no caller of an op can hand
 * the engine a code address (issue 14). Function ids are unique in the process; each instance removes
 * its own when its engine has stopped. Holds no reference to the Sqlite facade, so the facade can become
 * unreachable (and be cleaned) while the engine runs.
 */
final class Functions {
    private static final int INTEGER = Wire.INTEGER, FLOAT = Wire.FLOAT, TEXT = Wire.TEXT, BLOB = Wire.BLOB,
            NULL = Wire.NULL, ERROR = Wire.ERROR;
    private static final ConcurrentHashMap<Integer, SqlFunction> ALL = new ConcurrentHashMap<>();
    private static final AtomicInteger NEXT_ID = new AtomicInteger();

    private final List<Integer> mine = new CopyOnWriteArrayList<>();

    Functions() {
        Installed.check();
    }

    /** Registers fn under a new process-wide id. */
    private int add(SqlFunction fn) {
        int id = NEXT_ID.getAndIncrement();
        if (id < 0) {
            throw new FerryException("out of SQL function ids in this process");
        }
        ALL.put(id, fn);
        mine.add(id);
        return id;
    }

    /**
     * Registers fn under a new process-wide id and has the engine create it as an SQL function on every
     * connection, present and future ({@code sqlite.function}, run in the systemic context).
     */
    void create(BytesToLongOp createOp, ExecutionContext system, String name, int nArgs, boolean deterministic,
            SqlFunction fn) {
        Objects.requireNonNull(fn, "fn");
        byte[] n = name.getBytes(StandardCharsets.UTF_8);
        if (n.length == 0 || n.length > 255 || nArgs < -1 || nArgs > 127) {
            throw new IllegalArgumentException("name=" + name + ", nArgs=" + nArgs + ": a name of 1..255 bytes and "
                    + "-1..127 arguments");
        }
        int id = add(fn);
        byte[] in = ByteBuffer.allocate(8 + n.length).order(ByteOrder.LITTLE_ENDIAN).putInt(id)
                .putInt(deterministic ? 1 : 0).put(n).array();
        try {
            createOp.call(system, nArgs, in);
        } catch (CallFailedException e) {
            throw SqliteException.from(e);
        }
    }

    /** Forgets this engine's functions: only once its engine thread has stopped. */
    void clear() {
        for (Integer id : mine) {
            ALL.remove(id);
        }
        mine.clear();
    }

    /** The upcall stub, installed once per process; a failure is remembered and rethrown to every start. */
    private static final class Installed {
        private static final RuntimeException FAILURE = install();

        static void check() {
            if (FAILURE != null) {
                throw FAILURE;
            }
        }

        @SuppressWarnings("restricted")
        private static RuntimeException install() {
            try {
                MethodHandle dispatch = MethodHandles.lookup().findStatic(Functions.class, "dispatch",
                        MethodType.methodType(void.class, int.class, MemorySegment.class, long.class, int.class,
                                MemorySegment.class));
                MemorySegment stub = Linker.nativeLinker().upcallStub(dispatch,
                        FunctionDescriptor.ofVoid(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_LONG,
                                ValueLayout.JAVA_INT, ValueLayout.ADDRESS),
                        Arena.global());
                int rc = (int) SqliteLibrary.SET_DISPATCHER.invokeExact(stub);
                return rc == 0 ? null : new FerryException("libferry_sqlite.so refused Ferry's SQL function dispatcher ("
                        + rc + "): another copy of io.ferry.sqlite in this process installed its own");
            } catch (RuntimeException e) {
                return e;
            } catch (Throwable t) {
                return new FerryException("cannot install Ferry's SQL function dispatcher: " + t, t);
            }
        }
    }

    /** ferry_sqlite_dispatch_fn: never throws (an exception escaping an upcall would kill the VM). */
    @SuppressWarnings("restricted")
    private static void dispatch(int id, MemorySegment args, long len, int n, MemorySegment out) {
        MemorySegment result = out.reinterpret(40);
        try {
            SqlFunction fn = ALL.get(id);
            if (fn == null) {
                throw new IllegalStateException("no SQL function " + id + " in this process");
            }
            Object[] values = Wire.values(args.reinterpret(len), n);
            write(result, fn.apply(values));
        } catch (Throwable t) {
            String message = t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": " + t.getMessage());
            try {
                writeBytes(result, ERROR, message.getBytes(StandardCharsets.UTF_8));
            } catch (Throwable nomem) {
                result.set(ValueLayout.JAVA_INT, 0, ERROR);
                result.set(ValueLayout.ADDRESS, 24, MemorySegment.NULL);
            }
        }
    }

    private static void write(MemorySegment r, Object v) {
        switch (v) {
            case null -> r.set(ValueLayout.JAVA_INT, 0, NULL);
            case Long l -> integer(r, l);
            case Integer i -> integer(r, i);
            case Short s -> integer(r, s);
            case Byte b -> integer(r, b);
            case Boolean b -> integer(r, b ? 1 : 0);
            case Double d -> floating(r, d);
            case Float f -> floating(r, f);
            case String s -> writeBytes(r, TEXT, s.getBytes(StandardCharsets.UTF_8));
            case byte[] b -> writeBytes(r, BLOB, b);
            default -> throw new IllegalArgumentException("an SQL function cannot return a " + v.getClass().getName());
        }
    }

    private static void integer(MemorySegment r, long v) {
        r.set(ValueLayout.JAVA_INT, 0, INTEGER);
        r.set(ValueLayout.JAVA_LONG, 8, v);
    }

    private static void floating(MemorySegment r, double v) {
        r.set(ValueLayout.JAVA_INT, 0, FLOAT);
        r.set(ValueLayout.JAVA_DOUBLE, 16, v);
    }

    private static void writeBytes(MemorySegment r, int type, byte[] b) {
        MemorySegment p = EngineMemory.allocate(b.length);
        MemorySegment.copy(b, 0, p, ValueLayout.JAVA_BYTE, 0, b.length);
        r.set(ValueLayout.JAVA_INT, 0, type);
        r.set(ValueLayout.ADDRESS, 24, p);
        r.set(ValueLayout.JAVA_LONG, 32, b.length);
    }
}
