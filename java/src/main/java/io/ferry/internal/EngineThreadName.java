package io.ferry.internal;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.charset.StandardCharsets;

/**
 * Names the calling pthread (the engine thread, from its hello upcall) after its engine, so that
 * {@code top -H}, {@code perf} and gdb show which engine a thread serves. Linux keeps 15 bytes of a
 * thread name; the name is cut there at a UTF-8 character boundary.
 */
final class EngineThreadName {
    /** Linux's TASK_COMM_LEN (16) less the terminating NUL. */
    static final int MAX_BYTES = 15;

    private static final class pthread_self {
        static final MethodHandle HANDLE = libc("pthread_self", FunctionDescriptor.of(ValueLayout.JAVA_LONG));
    }

    private static final class pthread_setname_np {
        static final MethodHandle HANDLE = libc("pthread_setname_np",
                FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS));
    }

    private EngineThreadName() {
    }

    private static MethodHandle libc(String symbol, FunctionDescriptor fd) {
        Linker linker = Linker.nativeLinker();
        return linker.downcallHandle(linker.defaultLookup().find(symbol).orElseThrow(
                () -> new UnsatisfiedLinkError("libc has no " + symbol)), fd);
    }

    /** The longest prefix of name that fits in MAX_BYTES of UTF-8 without splitting a character. */
    static byte[] truncated(String name) {
        byte[] utf8 = name.getBytes(StandardCharsets.UTF_8);
        if (utf8.length <= MAX_BYTES) {
            return utf8;
        }
        int end = MAX_BYTES;
        while (end > 0 && (utf8[end] & 0xC0) == 0x80) {
            end--; // utf8[end] continues a character that starts before it: cut before that character
        }
        return java.util.Arrays.copyOf(utf8, end);
    }

    /** Sets the calling thread's pthread name; returns pthread_setname_np's result (0 on success). */
    static int set(String name) {
        try (Arena arena = Arena.ofConfined()) {
            byte[] bytes = truncated(name);
            MemorySegment cName = arena.allocate(bytes.length + 1L);
            MemorySegment.copy(bytes, 0, cName, ValueLayout.JAVA_BYTE, 0, bytes.length);
            long self = (long) pthread_self.HANDLE.invokeExact();
            return (int) pthread_setname_np.HANDLE.invokeExact(self, cName);
        } catch (Throwable t) {
            throw new AssertionError("pthread_setname_np failed", t);
        }
    }
}
