package io.ferry.bench.sqlite;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.file.Path;
import java.util.concurrent.locks.ReentrantLock;

/**
 * The floor: the same SQLite statements called directly through FFM on the caller's own thread, one
 * connection (opened SQLITE_OPEN_NOMUTEX) guarded by a {@link ReentrantLock}. Binds the system's
 * libsqlite3 (the one Ferry's engine links), prepares each statement once and then only binds, steps,
 * reads columns and resets. No copy of the result beyond the two column values.
 */
final class FfmTarget implements SqlTarget {
    static final String LIBRARY = "/usr/lib/x86_64-linux-gnu/libsqlite3.so.0";
    private static final int SQLITE_OK = 0, SQLITE_ROW = 100, SQLITE_DONE = 101;
    private static final int OPEN_READWRITE = 0x2, OPEN_CREATE = 0x4, OPEN_URI = 0x40, OPEN_NOMUTEX = 0x8000;

    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIB = SymbolLookup.libraryLookup(Path.of(LIBRARY), Arena.global());
    private static final ValueLayout.OfInt I = ValueLayout.JAVA_INT;
    private static final ValueLayout.OfLong L = ValueLayout.JAVA_LONG;
    private static final java.lang.foreign.AddressLayout P = ValueLayout.ADDRESS;

    static final MethodHandle OPEN = fn("sqlite3_open_v2", FunctionDescriptor.of(I, P, P, I, P));
    static final MethodHandle CLOSE = fn("sqlite3_close", FunctionDescriptor.of(I, P));
    static final MethodHandle PREPARE = fn("sqlite3_prepare_v2", FunctionDescriptor.of(I, P, P, I, P, P));
    static final MethodHandle FINALIZE = fn("sqlite3_finalize", FunctionDescriptor.of(I, P));
    static final MethodHandle BIND_INT64 = fn("sqlite3_bind_int64", FunctionDescriptor.of(I, P, I, L));
    static final MethodHandle BIND_TEXT = fn("sqlite3_bind_text", FunctionDescriptor.of(I, P, I, P, I, P));
    static final MethodHandle STEP = fn("sqlite3_step", FunctionDescriptor.of(I, P));
    static final MethodHandle RESET = fn("sqlite3_reset", FunctionDescriptor.of(I, P));
    static final MethodHandle COLUMN_INT64 = fn("sqlite3_column_int64", FunctionDescriptor.of(L, P, I));
    static final MethodHandle COLUMN_TEXT = fn("sqlite3_column_text", FunctionDescriptor.of(P, P, I));
    static final MethodHandle COLUMN_BYTES = fn("sqlite3_column_bytes", FunctionDescriptor.of(I, P, I));
    static final MethodHandle CHANGES = fn("sqlite3_changes", FunctionDescriptor.of(I, P));
    static final MethodHandle EXEC = fn("sqlite3_exec", FunctionDescriptor.of(I, P, P, P, P, P));
    static final MethodHandle ERRMSG = fn("sqlite3_errmsg", FunctionDescriptor.of(P, P));
    static final MethodHandle BUSY_TIMEOUT = fn("sqlite3_busy_timeout", FunctionDescriptor.of(I, P, I));
    static final MethodHandle LIBVERSION = fn("sqlite3_libversion", FunctionDescriptor.of(P));

    private final Arena arena = Arena.ofShared();
    private final ReentrantLock lock = new ReentrantLock();
    private final MemorySegment db;
    private final MemorySegment select;
    private final MemorySegment insert;
    private final Worker worker = new LockedWorker();

    /** {@code file} null: an in-memory database. */
    FfmTarget(Path file) throws Throwable {
        MemorySegment out = arena.allocate(P);
        String name = file == null ? ":memory:" : file.toString();
        int rc = (int) OPEN.invokeExact(arena.allocateFrom(name), out, OPEN_READWRITE | OPEN_CREATE | OPEN_URI | OPEN_NOMUTEX,
                MemorySegment.NULL);
        db = out.get(P, 0);
        check(rc, "open " + name);
        check((int) BUSY_TIMEOUT.invokeExact(db, 5000), "busy_timeout");
        if (file != null) {
            exec("PRAGMA journal_mode=WAL");
            exec("PRAGMA synchronous=NORMAL"); // as Ferry's WAL default
        }
        exec(SCHEMA_KV);
        exec(SCHEMA_LOG);
        exec("BEGIN");
        MemorySegment load = prepare(LOAD_KV);
        for (int id = 1; id <= ROWS; id++) {
            MemorySegment text = arena.allocateFrom(NAMES[id]);
            check((int) BIND_INT64.invokeExact(load, 1, (long) id), "bind");
            check((int) BIND_TEXT.invokeExact(load, 2, text, -1, MemorySegment.ofAddress(-1)), "bind"); // SQLITE_TRANSIENT
            check((int) BIND_INT64.invokeExact(load, 3, SqlTarget.val(id)), "bind");
            step(load, SQLITE_DONE);
            check((int) RESET.invokeExact(load), "reset");
        }
        check((int) FINALIZE.invokeExact(load), "finalize");
        exec("COMMIT");
        select = prepare(SELECT);
        insert = prepare(INSERT);
    }

    static String libVersion() throws Throwable {
        return ((MemorySegment) LIBVERSION.invokeExact()).reinterpret(64).getString(0);
    }

    @Override
    public Worker worker(int t) {
        return worker;
    }

    private final class LockedWorker implements Worker {
        @Override
        public void select(long id) throws Exception {
            lock.lock();
            try {
                MemorySegment s = select;
                check((int) BIND_INT64.invokeExact(s, 1, id), "bind");
                step(s, SQLITE_ROW);
                long val = (long) COLUMN_INT64.invokeExact(s, 0);
                MemorySegment text = (MemorySegment) COLUMN_TEXT.invokeExact(s, 1);
                int len = (int) COLUMN_BYTES.invokeExact(s, 1);
                String name = text.reinterpret(len + 1L).getString(0);
                step(s, SQLITE_DONE);
                check((int) RESET.invokeExact(s), "reset");
                SqlTarget.check(id, val, name);
            } catch (Exception | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void insert(long tid, long seq) throws Exception {
            lock.lock();
            try {
                insertLocked(tid, seq);
            } catch (Exception | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            } finally {
                lock.unlock();
            }
        }

        @Override
        public void batch(long tid, long seq0, int n) throws Exception {
            lock.lock();
            try {
                exec("BEGIN");
                boolean done = false;
                try {
                    for (int i = 0; i < n; i++) {
                        insertLocked(tid, seq0 + i);
                    }
                    exec("COMMIT");
                    done = true;
                } finally {
                    if (!done) {
                        exec("ROLLBACK");
                    }
                }
            } catch (Exception | Error e) {
                throw e;
            } catch (Throwable t) {
                throw new IllegalStateException(t);
            } finally {
                lock.unlock();
            }
        }
    }

    private void insertLocked(long tid, long seq) throws Throwable {
        MemorySegment s = insert;
        check((int) BIND_INT64.invokeExact(s, 1, tid), "bind");
        check((int) BIND_INT64.invokeExact(s, 2, seq), "bind");
        int rc = (int) STEP.invokeExact(s);
        int reset = (int) RESET.invokeExact(s);
        if (rc != SQLITE_DONE) {
            check(reset == SQLITE_OK ? rc : reset, "insert");
        }
        SqlTarget.checkChanges("INSERT", (int) CHANGES.invokeExact(db), 1);
    }

    @Override
    public long logRows() throws Exception {
        return scalar("SELECT count(*) FROM log");
    }

    @Override
    public String pragmas() throws Exception {
        lock.lock();
        try {
            return "journal_mode=" + text("PRAGMA journal_mode") + ", synchronous=" + scalar("PRAGMA synchronous");
        } finally {
            lock.unlock();
        }
    }

    private long scalar(String sql) throws Exception {
        lock.lock();
        try {
            MemorySegment s = prepare(sql);
            try {
                step(s, SQLITE_ROW);
                return (long) COLUMN_INT64.invokeExact(s, 0);
            } finally {
                int rc = (int) FINALIZE.invokeExact(s);
            }
        } catch (Exception | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            lock.unlock();
        }
    }

    private String text(String sql) throws Exception {
        try {
            MemorySegment s = prepare(sql);
            try {
                step(s, SQLITE_ROW);
                return ((MemorySegment) COLUMN_TEXT.invokeExact(s, 0)).reinterpret(64).getString(0);
            } finally {
                int rc = (int) FINALIZE.invokeExact(s);
            }
        } catch (Exception | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private MemorySegment prepare(String sql) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            MemorySegment out = a.allocate(P);
            check((int) PREPARE.invokeExact(db, a.allocateFrom(sql), -1, out, MemorySegment.NULL), "prepare " + sql);
            return out.get(P, 0);
        }
    }

    private void step(MemorySegment s, int expected) throws Throwable {
        int rc = (int) STEP.invokeExact(s);
        if (rc != expected) {
            int ignored = (int) RESET.invokeExact(s);
            check(rc == SQLITE_ROW || rc == SQLITE_DONE ? 1 : rc, "step returned " + rc + ", expected " + expected);
        }
    }

    private void exec(String sql) throws Throwable {
        try (Arena a = Arena.ofConfined()) {
            check((int) EXEC.invokeExact(db, a.allocateFrom(sql), MemorySegment.NULL, MemorySegment.NULL,
                    MemorySegment.NULL), sql);
        }
    }

    private void check(int rc, String what) throws Throwable {
        if (rc != SQLITE_OK) {
            String msg = db == null || db.equals(MemorySegment.NULL) ? "" :
                    ((MemorySegment) ERRMSG.invokeExact(db)).reinterpret(4096).getString(0);
            throw new java.sql.SQLException("FFM sqlite3 " + what + ": rc=" + rc + " " + msg, null, rc);
        }
    }

    @Override
    public void close() throws Exception {
        try {
            int a = (int) FINALIZE.invokeExact(select);
            int b = (int) FINALIZE.invokeExact(insert);
            int c = (int) CLOSE.invokeExact(db);
        } catch (Exception | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        } finally {
            arena.close();
        }
    }

    @SuppressWarnings("restricted")
    private static MethodHandle fn(String name, FunctionDescriptor d) {
        return LINKER.downcallHandle(LIB.find(name).orElseThrow(() -> new UnsatisfiedLinkError(name)), d);
    }
}
