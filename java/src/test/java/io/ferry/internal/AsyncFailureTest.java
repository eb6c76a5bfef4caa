package io.ferry.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.Engine;
import io.ferry.LongOp;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Defect 9: a throwable other than FerryException while an async call's outcome is taken (an
 * OutOfMemoryError decoding a large result, say) must reach the call's future; it once escaped into the
 * wake upcall's catch-all and the future never completed.
 */
class AsyncFailureTest {
    private static Outcomes outcomesOf(Engine engine) throws ReflectiveOperationException {
        var coreField = Engine.class.getDeclaredField("core");
        coreField.setAccessible(true);
        EngineCore core = (EngineCore) coreField.get(engine);
        var outcomesField = EngineCore.class.getDeclaredField("outcomes");
        outcomesField.setAccessible(true);
        return (Outcomes) outcomesField.get(core);
    }

    @Test
    void anErrorTakingAnAsyncOutcomeInTheWakeUpcallFailsTheFuture() throws Exception {
        try (Engine engine = io.ferry.TestEngines.builder().name("async-error").start()) {
            LongOp add = engine.longOp("add");
            assertEquals(3, add.call(1, 2));
            OutOfMemoryError injected = new OutOfMemoryError("injected: decoding the result failed");
            outcomesOf(engine).faultForTest = injected; // published to the engine thread by the call's publish
            // Nobody joins the call itself: its outcome can only come through the wake upcall.
            CompletableFuture<Throwable> seen = add.callAsync(2, 3).handle((r, t) -> t);
            Throwable t = seen.get(10, TimeUnit.SECONDS); // hung (TimeoutException) before the fix
            Throwable cause = t instanceof java.util.concurrent.CompletionException ? t.getCause() : t;
            assertTrue(cause == injected || cause.getCause() == injected, String.valueOf(t));
            assertEquals(7, add.call(3, 4), "the slot was released: the engine still serves calls");
        }
    }

    @Test
    void anErrorTakingAnAsyncOutcomeForAJoinerFailsTheFuture() throws Exception {
        try (Engine engine = io.ferry.TestEngines.builder().name("async-error-join").start()) {
            LongOp add = engine.longOp("add");
            OutOfMemoryError injected = new OutOfMemoryError("injected");
            Outcomes outcomes = outcomesOf(engine);
            for (int i = 0; i < 100; i++) {
                outcomes.faultForTest = injected;
                CompletableFuture<Long> f = add.callAsync(i, 1);
                ExecutionException e = assertThrows(ExecutionException.class, () -> f.get(10, TimeUnit.SECONDS));
                Throwable cause = e.getCause();
                assertTrue(cause == injected || cause.getCause() == injected, String.valueOf(e));
                outcomes.faultForTest = null;
                assertEquals(i + 2, add.callAsync(i, 2).get(10, TimeUnit.SECONDS));
            }
            assertSame(null, outcomes.faultForTest);
        }
    }
}
