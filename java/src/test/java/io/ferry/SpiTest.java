package io.ferry;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.spi.EngineLibraries;
import io.ferry.spi.EngineMemory;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/** The engine SPI: what io.ferry.sqlite is built on, so a third party can build an engine the same way. */
class SpiTest {

    @Test
    void theSqliteEngineUsesOnlyExportedPackages() throws IOException {
        Path sources = Path.of("src/main/java/io/ferry/sqlite");
        List<String> offenders;
        try (Stream<Path> files = Files.list(sources)) {
            offenders = files.filter(f -> {
                try {
                    return Files.readString(f).contains("io.ferry.internal");
                } catch (IOException e) {
                    throw new java.io.UncheckedIOException(e);
                }
            }).map(f -> f.getFileName().toString()).toList();
        }
        assertEquals(List.of(), offenders, "io.ferry.sqlite must be built on io.ferry and io.ferry.spi only");
        assertTrue(Files.exists(sources.resolve("Sqlite.java")), "the scan looked at the SQLite engine's sources");
    }

    @Test
    void engineMemoryIsExactlyTheSizeAsked() {
        MemorySegment m = EngineMemory.allocate(24);
        assertEquals(24, m.byteSize());
        m.set(java.lang.foreign.ValueLayout.JAVA_LONG, 16, 42);
        assertEquals(42, m.get(java.lang.foreign.ValueLayout.JAVA_LONG, 16));
        assertThrows(IllegalArgumentException.class, () -> EngineMemory.allocate(-1));
    }

    @Test
    void aPluginIsFoundBesideLibferryOrInTheOwnersJar() throws IOException {
        Path sqlite = EngineLibraries.locate(Engine.class, "libferry_sqlite.so", "ferry.test.no.such.property");
        assertTrue(Files.isReadable(sqlite), sqlite.toString());
        IOException e = assertThrows(IOException.class,
                () -> EngineLibraries.locate(SpiTest.class, "libno_such_engine.so", null));
        assertTrue(e.getMessage().contains("libno_such_engine.so"), e.getMessage());
    }
}
