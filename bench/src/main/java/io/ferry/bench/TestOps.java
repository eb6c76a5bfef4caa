package io.ferry.bench;

import io.ferry.Engine;
import io.ferry.EngineBuilder;
import io.ferry.spi.EngineLibraries;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;

/**
 * Engines with the test ops (native/testops: {@code add}, {@code echo_string}, ...), which the benchmarks
 * and the demo call; Ferry's library has none of them. The plug-in is bundled in benchmarks.jar under
 * {@code META-INF/native/linux-x86_64/} (from build/native) and extracted beside libferry.so, or taken from
 * {@code -Dferry.testops.library=FILE}.
 */
public final class TestOps {
    /** The system property that may name the plug-in's file. */
    public static final String PROPERTY = "ferry.testops.library";

    private TestOps() {
    }

    /** {@link Engine#builder()} with the test ops' plug-in loaded. */
    public static EngineBuilder builder() {
        Path library;
        try {
            library = EngineLibraries.locate(TestOps.class, "libferry_testops.so", PROPERTY);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot find the test ops' plug-in: " + e.getMessage(), e);
        }
        return Engine.builder().library(library, "ferry_testops_init");
    }
}
