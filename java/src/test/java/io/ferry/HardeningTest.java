package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.spi.EngineLibraries;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * Issue 14, items 1 and 5, through the public API: internal ops (Ferry's {@code ferry.*}, an engine
 * binding's plumbing) are refused by {@link Engine#op(String)}; no op takes the SQLite function
 * dispatcher's address; {@code counter} refuses a signed overflow; {@code var_add} refuses a name with a
 * NUL byte instead of reading the variable named by its part before the NUL.
 */
class HardeningTest {
    private static final int EOVERFLOW = 75, EINVAL = 22;

    @Test
    void ferrysOwnOpsAreInternal() {
        try (Engine engine = TestEngines.builder().start()) {
            for (String name : new String[] {"ferry.ctx_create", "ferry.ctx_close", "ferry.var_set", "ferry.var_get",
                "ferry.var_unset"}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> engine.op(name),
                        "the public lookup handed out " + name);
                assertTrue(e.getMessage().contains("'" + name + "' is internal to its engine"), e::getMessage);
            }
            // Ferry's own code still reaches them: contexts and variables work.
            ExecutionContext child = engine.systemContext().child().name("child").create();
            child.set("x", 40L);
            assertEquals(42, engine.bytesToLongOp("var_add").call(child, 2, "x".getBytes(StandardCharsets.UTF_8)));
            child.close();
        }
    }

    /**
     * The SQLite engine started as a plain plug-in: its plumbing is refused, and there is no op left to hand
     * it a function address (the old sqlite.dispatch took any number and the next SQL function call jumped
     * there: SIGSEGV).
     */
    @Test
    void sqlitesPlumbingIsNotCallableAndNoOpTakesAnAddress() throws Exception {
        Path sqlite = EngineLibraries.locate(Engine.class, "libferry_sqlite.so", "ferry.sqlite.library.path");
        try (Engine engine = Engine.builder().library(sqlite, "ferry_sqlite_init", "path=:memory:").start()) {
            for (String name : new String[] {"sqlite.channel", "sqlite.channel_close", "sqlite.run", "sqlite.spill",
                "sqlite.function"}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> engine.op(name),
                        "the public lookup handed out " + name);
                assertTrue(e.getMessage().contains("'" + name + "' is internal to its engine"), e::getMessage);
            }
            IllegalArgumentException d = assertThrows(IllegalArgumentException.class, () -> engine.op("sqlite.dispatch"),
                    "sqlite.dispatch, which jumps to any address its caller gives, is still an op");
            assertTrue(d.getMessage().contains("unknown op"), d::getMessage);
            assertEquals(Op.IN_BYTES | Op.OUT_BYTES, engine.op("sqlite.exec").flags(), "sqlite.exec stays public");
        }
    }

    @Test
    void counterRefusesASigned64BitOverflow() {
        try (Engine engine = TestEngines.builder().start()) {
            LongOp counter = engine.longOp("counter");
            assertEquals(Long.MAX_VALUE, counter.call(Long.MAX_VALUE));
            CallFailedException e = assertThrows(CallFailedException.class, () -> counter.call(1),
                    "counter wrapped past Long.MAX_VALUE (signed overflow, undefined behaviour in C)");
            assertEquals(EOVERFLOW, e.code(), e::getMessage);
            assertTrue(e.engineMessage().contains("overflows"), e::getMessage);
            assertEquals(Long.MAX_VALUE, counter.call(0), "the refused add changed the counter");
            assertEquals(-1, counter.call(Long.MIN_VALUE));
            assertThrows(CallFailedException.class, () -> counter.call(Long.MIN_VALUE));
        }
    }

    @Test
    void varAddRefusesANameWithANul() {
        try (Engine engine = TestEngines.builder().start()) {
            ExecutionContext sys = engine.systemContext();
            sys.set("x", 40L);
            BytesToLongOp varAdd = engine.bytesToLongOp("var_add");
            assertEquals(42, varAdd.call(sys, 2, "x".getBytes(StandardCharsets.UTF_8)));
            CallFailedException e = assertThrows(CallFailedException.class,
                    () -> varAdd.call(sys, 2, "x\0y".getBytes(StandardCharsets.UTF_8)),
                    "var_add read variable 'x' for the name \"x\\0y\"");
            assertEquals(EINVAL, e.code(), e::getMessage);
            assertTrue(e.engineMessage().contains("NUL byte at index 1"), e::getMessage);
            // Variable names with a NUL are refused on the Java side or the engine's, never cut short.
            assertThrows(RuntimeException.class, () -> sys.set("x\0y", 1L));
        }
    }
}
