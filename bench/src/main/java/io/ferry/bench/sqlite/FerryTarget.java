package io.ferry.bench.sqlite;

import io.ferry.ExecutionContext;
import io.ferry.WaitPolicy;
import io.ferry.sqlite.Rows;
import io.ferry.sqlite.Sqlite;
import io.ferry.sqlite.Statement;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;

/**
 * Ferry: one {@link Sqlite} engine (default engine settings: {@code WaitPolicy.BALANCED}, capacity
 * 16384), every statement a plain {@code db.query}/{@code db.execute} call, a batch one
 * {@code db.batch(ctx, sql, rows)} call (one SQL text, a row of values per insert). The engine caches each
 * context's prepared statements by itself. File databases run in WAL mode with Ferry's defaults
 * ({@code synchronous=NORMAL}).
 *
 * <ul>
 *   <li><b>system</b>: every caller thread passes the engine's systemic context (one connection);
 *   <li><b>ctx</b>: each caller thread has its own child context ({@code systemContext().child().create()}),
 *       so its own connection to the same database, opened on the engine thread.
 * </ul>
 */
final class FerryTarget implements SqlTarget {
    private final Sqlite db;
    private final ExecutionContext system;
    private final boolean perThreadContext;
    private final Worker[] workers = new Worker[SqliteBench.MAX_THREADS];
    private final Worker systemWorker;

    /** {@code file} null: in memory; {@code nice} null: the engine thread's nice value is left alone. */
    FerryTarget(boolean perThreadContext, Path file, WaitPolicy preset, Integer nice) {
        this.perThreadContext = perThreadContext;
        db = (file == null ? Sqlite.builder().memory() : Sqlite.builder().file(file).wal(true))
                .engine(b -> {
                    b.waitPolicy(preset);
                    if (nice != null) {
                        b.engineNice(nice);
                    }
                }).start();
        system = db.engine().systemContext();
        db.execute(system, SCHEMA_KV);
        db.execute(system, SCHEMA_LOG);
        List<Statement> load = new ArrayList<>();
        for (int id = 1; id <= ROWS; id++) {
            load.add(Statement.of(LOAD_KV, (long) id, NAMES[id], SqlTarget.val(id)));
        }
        for (long c : db.batch(system, load)) {
            SqlTarget.checkChanges("load", c, 1);
        }
        systemWorker = new ContextWorker(system);
    }

    @Override
    public Worker worker(int t) {
        if (!perThreadContext) {
            return systemWorker;
        }
        if (workers[t] == null) {
            workers[t] = new ContextWorker(system.child().name("bench-" + t).create());
        }
        return workers[t];
    }

    private final class ContextWorker implements Worker {
        private final ExecutionContext ctx;

        ContextWorker(ExecutionContext ctx) {
            this.ctx = ctx;
        }

        @Override
        public void select(long id) {
            Rows rows = db.query(ctx, SELECT, id);
            if (rows.size() != 1) {
                throw new AssertionError("SELECT id=" + id + " returned " + rows.size() + " rows");
            }
            SqlTarget.check(id, rows.get(0).getLong(0), rows.get(0).getString(1));
        }

        @Override
        public void insert(long tid, long seq) {
            SqlTarget.checkChanges("INSERT", db.execute(ctx, INSERT, tid, seq), 1);
        }

        @Override
        public void batch(long tid, long seq0, int n) {
            List<Object[]> rows = new ArrayList<>(n);
            for (int i = 0; i < n; i++) {
                rows.add(new Object[] {tid, seq0 + i});
            }
            long[] changes = db.batch(ctx, INSERT, rows);
            SqlTarget.checkChanges("batch", changes.length, n);
            for (long c : changes) {
                SqlTarget.checkChanges("batch INSERT", c, 1);
            }
        }
    }

    @Override
    public long logRows() {
        return db.query(system, "SELECT count(*) FROM log").get(0).getLong(0);
    }

    @Override
    public String pragmas() {
        return "journal_mode=" + db.query(system, "PRAGMA journal_mode").get(0).getString(0)
                + ", synchronous=" + db.query(system, "PRAGMA synchronous").get(0).getLong(0);
    }

    @Override
    public void close() {
        db.close();
    }
}
