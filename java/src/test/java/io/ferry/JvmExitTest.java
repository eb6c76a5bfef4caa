package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.child.ChildJvm;
import io.ferry.child.ExitAfterClose;
import io.ferry.child.ExitAfterUpcall;
import io.ferry.child.ExitWhileCallersWait;
import io.ferry.child.ExitWithoutClose;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/**
 * An engine must never keep the JVM from exiting: each case runs a small main in a child JVM (same
 * class path, native access enabled) and requires it to exit on its own within 10 s with the expected
 * code, having printed the expected markers. A child still running at the deadline is thread-dumped and
 * destroyed, and the test fails with its output.
 */
class JvmExitTest {
    private static final Duration DEADLINE = Duration.ofSeconds(10);

    @Test
    void jvmExitsWhenMainReturnsAfterClosingTheEngine() throws Exception {
        ChildJvm.Result r = ChildJvm.run(ExitAfterClose.class, true, DEADLINE);
        assertExit(r, 0, List.of("engine started", "calls made sum=500500 async=42", "engine closed isClosed=true",
                "main returns"));
    }

    @Test
    void jvmExitsWhenMainReturnsWithoutClosingTheEngineAndTheShutdownHookClosesIt() throws Exception {
        ChildJvm.Result r = ChildJvm.run(ExitWithoutClose.class, true, DEADLINE);
        assertExit(r, 0, List.of("engine started", "calls made sum=500500 virtual=42 async=42", "main returns",
                "observer: engine closed during shutdown"));
    }

    @Test
    void systemExitWhilePlatformAndVirtualThreadsWaitOnASlowCallExitsWithinTheDrainBound() throws Exception {
        // Six 2 s calls (three platform, three virtual callers) queue 12 s of work: more than the
        // deadline, so only the shutdown hook's drain bound (the engine's closeTimeout, 3 s) lets the JVM
        // exit with 3 in time.
        ChildJvm.Result r = ChildJvm.run(ExitWhileCallersWait.class, true, DEADLINE, "6", "2000000000");
        assertExit(r, 3, List.of("engine started", "calls made add=5", "waiters parked: 6",
                "calling System.exit(3)"));
    }

    @Test
    void jvmExitsAfterAJavaUpcallRanOnTheEngineThreadAndTheEngineWasNeverClosed() throws Exception {
        ChildJvm.Result r = ChildJvm.run(ExitAfterUpcall.class, true, DEADLINE, System.getProperty("ferry.test.example"));
        assertExit(r, 0, List.of("engine started", "calls made callback=41 onEngineThread=true mul=82",
                "main returns", "observer: engine closed during shutdown"));
    }

    /** The exit code, then that the expected markers appear in this order (others may be interleaved). */
    static void assertExit(ChildJvm.Result r, int exitCode, List<String> expectedInOrder) {
        System.out.println(r.describe());
        assertEquals(exitCode, r.exitCode(), () -> "exit code\n" + r.describe());
        List<String> marks = r.marks();
        int from = 0;
        for (String expected : expectedInOrder) {
            int at = marks.subList(from, marks.size()).indexOf(expected);
            assertTrue(at >= 0, () -> "missing marker '" + expected + "' (in order " + expectedInOrder + ")\n"
                    + r.describe());
            from += at + 1;
        }
        String all = r.stdout() + r.stderr();
        assertTrue(!all.contains("A fatal error has been detected") && !all.contains("hs_err_pid"),
                () -> "the child JVM crashed\n" + r.describe());
    }
}
