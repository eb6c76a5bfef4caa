package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executor;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** Ferry logs through System.Logger "io.ferry" (java.util.logging here): lifecycle at DEBUG, swallowed failures at WARNING. */
class LoggingTest {
    private final List<LogRecord> records = new CopyOnWriteArrayList<>();
    private final Handler handler = new Handler() {
        @Override
        public void publish(LogRecord r) {
            records.add(r);
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private final Logger jul = Logger.getLogger("io.ferry");
    private Level oldLevel;

    @BeforeEach
    void capture() {
        oldLevel = jul.getLevel();
        jul.setLevel(Level.ALL);
        jul.addHandler(handler);
    }

    @AfterEach
    void release() {
        jul.removeHandler(handler);
        jul.setLevel(oldLevel);
    }

    private List<String> messages(Level level, String containing) {
        return records.stream().filter(r -> r.getLevel() == level && r.getMessage().contains(containing))
                .map(LogRecord::getMessage).toList();
    }

    @Test
    void startAndCloseLogAtDebug() {
        try (Engine engine = TestEngines.builder().name("log-life").start()) {
            engine.longOp("add").call(1, 2);
        }
        assertEquals(1, messages(Level.FINE, "engine 'log-life' started").size(), "start: " + records);
        assertEquals(1, messages(Level.FINE, "engine 'log-life' closed").size(), "close: " + records);
    }

    @Test
    void aThrowingCompletionExecutorLogsAWarning() throws Exception {
        Executor broken = task -> {
            throw new IllegalStateException("this executor is broken");
        };
        try (Engine engine = TestEngines.builder().name("log-exec").completionExecutor(broken).start()) {
            java.util.concurrent.CompletableFuture<Long> f = engine.longOp("add").callAsync(1, 2);
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!f.isDone()) { // no join: a joiner would complete the future itself, without the executor
                assertTrue(System.nanoTime() < deadline, "the future never completed");
                Thread.sleep(1);
            }
            assertEquals(3L, f.get());
        }
        assertTrue(!messages(Level.WARNING, "the completion executor threw").isEmpty(), "warnings: " + records);
    }

    @Test
    void aForgottenEngineIsClosedByTheCleanerWithAWarning() throws Exception {
        startAndForget();
        long deadline = System.nanoTime() + 20_000_000_000L;
        while (messages(Level.WARNING, "engine 'log-forgotten' became unreachable").isEmpty()) {
            assertTrue(System.nanoTime() < deadline, "no warning for the forgotten engine: " + records);
            System.gc();
            Thread.sleep(20);
        }
    }

    private static void startAndForget() {
        TestEngines.builder().name("log-forgotten").start().longOp("add").call(1, 2);
    }
}
