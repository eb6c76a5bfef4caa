package io.ferry;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import io.ferry.internal.NativeLibrary;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * The one upcall of every engine's {@code ferry.task} op (ferry.h, "Java tasks on the engine thread"),
 * installed once per JVM with a stub in the global arena: no stub is made per task or per engine.
 * Never throws: an exception escaping an upcall ends the JVM.
 */
final class TaskUpcall {
    private static final int RUN = 1, CTX_OPEN = 2, CTX_CLOSE = 3, STOP = 4;
    private static volatile boolean installed;

    private TaskUpcall() {
    }

    /** Installs the upcall (idempotent); before the first task of any engine. */
    static void install() {
        if (!installed) {
            installOnce();
        }
    }

    @SuppressWarnings("restricted")
    private static synchronized void installOnce() {
        if (installed) {
            return;
        }
        try {
            MethodHandle target = MethodHandles.lookup().findStatic(TaskUpcall.class, "upcall", MethodType.methodType(
                    long.class, int.class, long.class, long.class, long.class, long.class));
            Linker linker = Linker.nativeLinker();
            MemorySegment stub = linker.upcallStub(target,
                    FunctionDescriptor.of(JAVA_LONG, JAVA_INT, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG),
                    Arena.global());
            MemorySegment set = NativeLibrary.lookup().find("ferry_task_set_upcall")
                    .orElseThrow(() -> new UnsatisfiedLinkError("unresolved symbol: ferry_task_set_upcall"));
            linker.downcallHandle(set, FunctionDescriptor.ofVoid(ADDRESS)).invokeExact(stub);
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
        installed = true;
    }

    private static final class ferry_call_var {
        @SuppressWarnings("restricted")
        static final MethodHandle HANDLE = Linker.nativeLinker().downcallHandle(
                NativeLibrary.lookup().find("ferry_call_var").orElseThrow(
                        () -> new UnsatisfiedLinkError("unresolved symbol: ferry_call_var")),
                FunctionDescriptor.of(JAVA_INT, ADDRESS, ADDRESS, ADDRESS));
    }

    /** ferry_value: u32 type, u32 frozen, i64, f64, const void *bytes, size_t len. */
    private static final long VALUE_SIZE = 40, V_TYPE = 0, V_I64 = 8, V_F64 = 16, V_BYTES = 24, V_LEN = 32;
    private static final int VAR_I64 = 1, VAR_F64 = 2, VAR_STRING = 3;

    /** ferry_call_var on a running task's call: Long, Double, String or byte[], or null if not found. */
    @SuppressWarnings("restricted")
    static Object variable(long call, String name) {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(VALUE_SIZE, 8);
            int rc = (int) ferry_call_var.HANDLE.invokeExact(MemorySegment.ofAddress(call), a.allocateFrom(name), out);
            if (rc != 0) {
                return null;
            }
            int type = out.get(JAVA_INT, V_TYPE);
            if (type == VAR_I64) {
                return out.get(JAVA_LONG, V_I64);
            }
            if (type == VAR_F64) {
                return out.get(java.lang.foreign.ValueLayout.JAVA_DOUBLE, V_F64);
            }
            long len = out.get(JAVA_LONG, V_LEN);
            MemorySegment bytes = out.get(ADDRESS, V_BYTES).reinterpret(len);
            byte[] b = bytes.toArray(java.lang.foreign.ValueLayout.JAVA_BYTE);
            return type == VAR_STRING ? new String(b, java.nio.charset.StandardCharsets.UTF_8) : b;
        } catch (Error | RuntimeException e) {
            throw e;
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** The upcall: see ferry.h for each kind's arguments. */
    private static long upcall(int kind, long ctx, long a, long b, long p) {
        try {
            if (kind == RUN) {
                return Tasks.run(a, b, p);
            }
            Tasks t = Tasks.CURRENT.get();
            if (t == null) {
                return 0;
            }
            switch (kind) {
                case CTX_OPEN -> t.opened(ctx, a, (int) b, Tasks.cString(p));
                case CTX_CLOSE -> t.closing(ctx);
                case STOP -> t.stopped();
                default -> {
                }
            }
        } catch (Throwable t) {
            try {
                Tasks.LOG.log(System.Logger.Level.WARNING, "the task upcall (kind " + kind + ") failed", t);
            } catch (Throwable logFailed) {
                // Nothing is left to report it with, and the upcall must return.
            }
        }
        return 0;
    }
}
