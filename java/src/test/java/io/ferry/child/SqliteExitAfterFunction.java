package io.ferry.child;

import static io.ferry.child.ChildJvm.mark;

import io.ferry.ExecutionContext;
import io.ferry.sqlite.Sqlite;

/**
 * Starts a SQLite engine, registers a Java SQL function and runs a query that calls it, so the engine
 * thread has made an upcall and is attached to the JVM; opens a few contexts and leaves statements cached;
 * then returns from main without closing anything. The JVM must still exit on its own (Ferry's shutdown
 * hook stops and joins the engine thread).
 */
public final class SqliteExitAfterFunction {
    static Sqlite db; // held to the end: the engine is reachable, so only the shutdown hook can close it
    static volatile boolean ranOnEngineThread;

    public static void main(String[] args) throws Exception {
        db = Sqlite.builder().start();
        mark("engine started");
        db.createFunction("times_ten_plus_one", 1, true, a -> {
            ranOnEngineThread = db.engine().isEngineThread();
            return (Long) a[0] * 10 + 1;
        });
        db.execute("CREATE TABLE t(x INTEGER)");
        db.execute("INSERT INTO t VALUES(1), (2), (3)");
        long r = db.query("SELECT sum(times_ten_plus_one(x)) FROM t").get(0).getLong(0);
        ExecutionContext ctx = db.engine().systemContext().child().name("left-open").create();
        ExecutionContext priv = db.engine().systemContext().child().engineFlags(Sqlite.PRIVATE_DATABASE).create();
        long inCtx = db.query(ctx, "SELECT times_ten_plus_one(4)").get(0).getLong(0);
        db.execute(priv, "CREATE TABLE p(y)");
        mark("calls made sum=" + r + " onEngineThread=" + ranOnEngineThread + " ctx=" + inCtx + " connections="
                + Sqlite.openConnections());
        ShutdownObserver.watch(db.engine());
        mark("main returns");
    }
}
