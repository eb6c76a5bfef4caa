package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.spi.EngineLibraries;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/**
 * The test ops (native/testops) are not part of the product: an engine of libferry.so alone, and the SQLite
 * engine, know none of them, and the library jar does not bundle their plug-in. They were once built into
 * libferry and registered into every engine.
 */
class NoTestOpsTest {
    private static void assertNoTestOp(Engine engine) {
        for (String name : TestEngines.OPS) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> engine.op(name),
                    () -> engine + " has the test op " + name);
            assertTrue(e.getMessage().contains("unknown op"), e::getMessage);
        }
    }

    @Test
    void aPlainEngineKnowsNoTestOp() {
        try (Engine engine = Engine.builder().name("plain").start()) {
            assertNoTestOp(engine);
            // Ferry's own plumbing still works without any plug-in: contexts and variables.
            try (ExecutionContext child = engine.systemContext().child().name("child").create()) {
                child.set("x", 40L);
                assertEquals(40L, child.getLong("x"));
            }
        }
    }

    @Test
    void theSqliteEngineKnowsNoTestOp() throws Exception {
        Path sqlite = EngineLibraries.locate(Engine.class, "libferry_sqlite.so", "ferry.sqlite.library.path");
        try (Engine engine = Engine.builder().library(sqlite, "ferry_sqlite_init", "path=:memory:").start()) {
            assertNoTestOp(engine);
        }
    }

    @Test
    void theTestOpsComeFromTheirPlugInAndItIsNotInTheLibraryJar() {
        try (Engine engine = TestEngines.builder().name("test-ops").start()) {
            assertEquals(5, engine.longOp("add").call(2, 3));
        }
        assertNull(Engine.class.getResource("/META-INF/native/linux-x86_64/libferry_testops.so"),
                "the library jar bundles the test ops' plug-in");
    }
}
