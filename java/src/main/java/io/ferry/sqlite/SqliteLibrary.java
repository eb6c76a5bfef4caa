package io.ferry.sqlite;

import io.ferry.FerryException;
import io.ferry.spi.EngineLibraries;
import java.io.IOException;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;

/** Functions of libferry_sqlite.so itself (not ops): the leak counters, the channels' free, the dispatcher. */
final class SqliteLibrary {
    static final String NAME = "libferry_sqlite.so";
    static final MethodHandle CONNECTIONS = find("ferry_sqlite_open_connections", FunctionDescriptor.of(ValueLayout.JAVA_LONG));
    static final MethodHandle STATEMENTS = find("ferry_sqlite_open_statements", FunctionDescriptor.of(ValueLayout.JAVA_LONG));
    static final MethodHandle FREE = find("ferry_sqlite_free", FunctionDescriptor.ofVoid(ValueLayout.ADDRESS));
    static final MethodHandle SET_DISPATCHER = find("ferry_sqlite_set_dispatcher",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS));

    private SqliteLibrary() {
    }

    @SuppressWarnings("restricted")
    private static MethodHandle find(String symbol, FunctionDescriptor descriptor) {
        try {
            var lookup = EngineLibraries.lookup(Sqlite.class, NAME, Sqlite.LIBRARY_PROPERTY);
            return Linker.nativeLinker().downcallHandle(lookup.find(symbol).orElseThrow(), descriptor);
        } catch (IOException e) {
            throw new FerryException("cannot find Ferry's SQLite engine: " + e.getMessage(), e);
        }
    }

    /** Reads one of the counters ({@link #CONNECTIONS}, {@link #STATEMENTS}). */
    static long read(MethodHandle counter) {
        try {
            return (long) counter.invokeExact();
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }

    /** Frees a channel (ferry_sqlite_free); only once its engine has stopped. */
    static void free(MemorySegment channel) {
        try {
            FREE.invokeExact(channel);
        } catch (Throwable t) {
            throw new AssertionError(t);
        }
    }
}
