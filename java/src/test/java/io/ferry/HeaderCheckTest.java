package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

/**
 * Defect 10: a header check that fails after the engine thread started must not leak that thread. The
 * check is made to fail through the test-only system property {@code ferry.test.badHeader}, which the
 * start reads only when it checks the header.
 */
class HeaderCheckTest {

    private static boolean engineThreadAlive(String name) {
        return Thread.getAllStackTraces().keySet().stream().anyMatch(t -> t.getName().equals(name) && t.isAlive());
    }

    @Test
    void aFailedHeaderCheckStopsAndJoinsTheEngineThreadAndSaysWhy() throws Exception {
        String name = "bad-header";
        System.setProperty("ferry.test.badHeader", "true");
        EngineStartException e;
        try {
            e = assertThrows(EngineStartException.class, () -> TestEngines.builder().name(name).start());
        } finally {
            System.clearProperty("ferry.test.badHeader");
        }
        assertEquals(-1, e.code(), "FERRY_E_INVALID");
        assertTrue(e.getMessage().contains("header"), e.getMessage());
        assertTrue(e.getMessage().contains("joined"), e.getMessage());
        // The engine thread was joined before start threw: it is gone now, not eventually.
        assertFalse(engineThreadAlive(name), "the engine thread '" + name + "' is still running");
        // And the next start is unaffected.
        try (Engine ok = TestEngines.builder().name("after-bad-header").start()) {
            assertEquals(5, ok.longOp("add").call(2, 3));
        }
    }
}
