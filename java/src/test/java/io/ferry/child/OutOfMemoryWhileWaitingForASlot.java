package io.ferry.child;

import static io.ferry.child.ChildJvm.mark;

import io.ferry.Engine;
import io.ferry.TestEngines;
import io.ferry.LongOp;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

/**
 * A producer runs out of heap between its claim and its publish, then the ring must still serve
 * others. Run with a small heap and no TLABs (so that every allocation can fail once the heap is full).
 * On a 1-slot ring, thread A's spin call holds the slot; the heap is filled; thread B then calls
 * {@code add}, claims the next sequence and waits for the slot: if that wait allocates, B gets an
 * OutOfMemoryError with its sequence claimed and never published, and every later call waits for a
 * slot the engine never frees. Half a second later (before a's spin ends) the heap is freed; once B is
 * done the main thread makes a timed call.
 *
 * <p>Marks: {@code b=<result or error class>}, then {@code c=<result or error class>}.
 */
public final class OutOfMemoryWhileWaitingForASlot {
    static volatile boolean go;
    static volatile boolean bDone;
    static volatile long bResult;
    static volatile Throwable bFailure;
    static List<Object> hog;

    public static void main(String[] args) throws Exception {
        try {
            run();
        } catch (Throwable t) {
            hog = null;
            t.printStackTrace(System.out);
        }
    }

    static void run() throws Exception {
        try (Engine engine = TestEngines.builder().name("oom-claim").capacity(1).closeTimeout(Duration.ofSeconds(2))
                .start()) {
            LongOp add = engine.longOp("add");
            LongOp spin = engine.longOp("spin");
            Thread b = Thread.ofPlatform().start(() -> {
                spin.call(1_000_000, 0); // warm up this thread's parked path
                add.call(0, 0);
                while (!go) {
                    Thread.onSpinWait();
                }
                try {
                    bResult = add.call(1, 2);
                } catch (Throwable t) {
                    bFailure = t;
                }
                bDone = true;
            });
            Thread.sleep(200); // b warmed up
            Thread a = Thread.ofPlatform().start(() -> spin.call(5_000_000_000L, 0));
            Thread.sleep(200); // the engine runs a's spin: the only slot is held
            fillHeap();
            go = true;
            // B waits for the slot (or failed) with the heap full for half a second; the heap is freed
            // before a's spin ends, so that the engine's wake-up of a has memory to run in.
            awaitB(500_000_000L);
            hog = null;
            System.gc();
            awaitB(20_000_000_000L);
            Throwable f = bFailure;
            mark("b=" + (!bDone ? "still waiting" : f == null ? Long.toString(bResult) : f.getClass().getName()));
            try {
                mark("c=" + add.call(2, 3, Duration.ofSeconds(5)));
            } catch (Exception e) {
                mark("c=" + e.getClass().getName() + ": " + e.getMessage());
            }
            a.join();
            b.join();
        }
        mark("closed");
    }

    /** Waits without allocating until b is done or the time is up. */
    private static void awaitB(long ns) {
        long deadline = System.nanoTime() + ns;
        while (!bDone && System.nanoTime() < deadline) {
            Thread.onSpinWait();
        }
    }

    /** Allocates until nothing more fits, down to the smallest arrays, and keeps it all reachable. */
    private static void fillHeap() {
        List<Object> list = new ArrayList<>(1 << 16);
        hog = list;
        for (int size = 1 << 20; size > 0; size >>= 1) {
            try {
                for (;;) {
                    list.add(new long[size]);
                }
            } catch (OutOfMemoryError full) {
                // next, smaller arrays
            }
        }
    }
}
