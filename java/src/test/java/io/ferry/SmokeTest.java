package io.ferry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.api.Test;

class SmokeTest {
    @Test
    void addRunsOnTheEngineThread() throws Exception {
        try (Engine engine = Engine.builder().start()) {
            Op add = engine.op("add");
            assertEquals(5, engine.call(add, 2, 3));
            for (int i = 0; i < 100_000; i++) {
                assertEquals(i + 1, engine.call(add, i, 1));
            }
            assertEquals(9L, engine.callAsync(add, 4, 5).get());
            assertArrayEquals(new byte[] {1, 2, 3}, engine.call(engine.op("echo_bytes"), new byte[] {1, 2, 3}));
            assertEquals("héllo", engine.call(engine.op("echo_string"), "héllo"));
        }
    }
}
