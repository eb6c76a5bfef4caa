package io.ferry.child;

import static io.ferry.child.ChildJvm.mark;

import io.ferry.sqlite.Rows;
import io.ferry.sqlite.Sqlite;
import java.time.Duration;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Closes a SQLite engine (close timeout 300 ms) while a statement is running that calls a slow Java
 * function once per row (10 rows, 150 ms each): the close gives up on the engine thread, which goes on
 * running the statement and calling the function. The JVM must survive that and exit normally.
 */
public final class SqliteCloseWhileFunctionRuns {
    public static void main(String[] args) throws Exception {
        AtomicInteger calls = new AtomicInteger();
        Sqlite db = Sqlite.builder().engine(b -> b.closeTimeout(Duration.ofMillis(300))).start();
        mark("engine started");
        db.createFunction("nap", 1, a -> {
            calls.incrementAndGet();
            Thread.sleep(150);
            return a[0];
        });
        CompletableFuture<Rows> slow = db.queryAsync(
                "WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 10) SELECT sum(nap(x)) FROM c");
        while (calls.get() == 0) {
            Thread.sleep(5);
        }
        db.close();
        mark("close returned engineClosed=" + db.engine().isClosed());
        try {
            slow.get();
            mark("slow statement completed");
        } catch (Exception e) {
            mark("slow statement failed: " + e.getCause().getClass().getSimpleName());
        }
        // The engine thread calls the function for the remaining rows meanwhile.
        int before = calls.get();
        Thread.sleep(2000);
        mark("alive after the statement: calls went from " + before + " to " + calls.get());
        mark("main returns");
    }
}
