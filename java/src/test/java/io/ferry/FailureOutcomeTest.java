package io.ferry;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Issue 11, defect 12: an op's failure reaches its caller whole, the message however long it is and the
 * output the op wrote before it failed, on every wait path (spinning, parked, async).
 */
class FailureOutcomeTest {

    /** 100 KB of text with a three-byte character on bytes 510..512, across where a 512-byte buffer cut. */
    static String longMessage() {
        StringBuilder b = new StringBuilder();
        b.append("x".repeat(510)).append('\u20ac'); // bytes 510, 511, 512
        String unit = "d\u00e9j\u00e0 vu \u20ac ";
        while (b.length() < 100 * 1024 / 2) {
            b.append(unit);
        }
        return b.toString();
    }

    @Test
    void aLongMultiByteMessageArrivesWholeOnEveryWaitPath() throws Exception {
        String message = longMessage();
        byte[] bytes = message.getBytes(StandardCharsets.UTF_8);
        assertEquals((byte) 0xe2, bytes[510], "the euro sign starts on byte 510");
        try (Engine spinning = TestEngines.builder().name("long-message-spin").start();
                Engine parking = TestEngines.builder().name("long-message-park")
                        .waitPolicy(new WaitPolicy.Backoff(Duration.ZERO, Duration.ZERO)).start()) {
            for (Engine engine : new Engine[] {spinning, parking}) {
                BytesToLongOp fail = engine.bytesToLongOp("fail");
                CallFailedException e = assertThrows(CallFailedException.class, () -> fail.call(9, bytes));
                assertEquals(9, e.code());
                assertEquals(message, e.engineMessage(), engine + ": sync");
                ExecutionException async = assertThrows(ExecutionException.class,
                        () -> fail.callAsync(10, bytes).get(30, TimeUnit.SECONDS));
                CallFailedException a = assertInstanceOf(CallFailedException.class, async.getCause());
                assertEquals(10, a.code());
                assertEquals(message, a.engineMessage(), engine + ": async");
                assertEquals(0, a.output().length, "a failure that wrote nothing has no output");
            }
        }
    }

    @Test
    void outputWrittenBeforeAFailureTravelsWithIt() throws Exception {
        // fail writes what follows the first NUL of its input as output, then fails with what precedes it.
        byte[] partial = {'p', 'a', 'r', 't', 0, 1, 2, (byte) 0xff};
        byte[] input = new byte[12 + 1 + partial.length];
        System.arraycopy("disk on fire".getBytes(StandardCharsets.US_ASCII), 0, input, 0, 12);
        System.arraycopy(partial, 0, input, 13, partial.length);
        try (Engine spinning = TestEngines.builder().name("output-on-failure-spin").capacity(1).start();
                Engine parking = TestEngines.builder().name("output-on-failure-park").capacity(1)
                        .waitPolicy(new WaitPolicy.Backoff(Duration.ZERO, Duration.ZERO)).start()) {
            for (Engine engine : new Engine[] {spinning, parking}) {
                BytesToLongOp fail = engine.bytesToLongOp("fail");
                CallFailedException e = assertThrows(CallFailedException.class, () -> fail.call(6, input));
                assertEquals("disk on fire", e.engineMessage(), engine + ": sync");
                assertArrayEquals(partial, e.output(), engine + ": sync");
                e.output()[0] = 'X';
                assertArrayEquals(partial, e.output(), "output() hands out a copy");
                ExecutionException async = assertThrows(ExecutionException.class,
                        () -> fail.callAsync(7, input).get(30, TimeUnit.SECONDS));
                CallFailedException a = assertInstanceOf(CallFailedException.class, async.getCause());
                assertEquals("disk on fire", a.engineMessage(), engine + ": async");
                assertArrayEquals(partial, a.output(), engine + ": async");
                // The slot carries no stale output into the next lap's failure.
                CallFailedException plain = assertThrows(CallFailedException.class,
                        () -> fail.call(8, "plain".getBytes(StandardCharsets.US_ASCII)));
                assertEquals("plain", plain.engineMessage());
                assertEquals(0, plain.output().length);
            }
        }
    }
}
