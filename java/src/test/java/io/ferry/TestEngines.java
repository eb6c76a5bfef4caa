package io.ferry;

import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Engines for the tests: {@link Engine#builder()} with the test ops' plug-in loaded (native/testops:
 * {@code noop}, {@code add}, {@code echo}, {@code add_f64}, {@code echo_bytes}, {@code echo_string},
 * {@code checksum}, {@code spin}, {@code fail}, {@code order}, {@code var_add}, {@code counter}). The
 * product library has none of these ops; an engine has them only through this plug-in. Its file comes from
 * {@code -Dferry.test.testops}, which Surefire sets (java/pom.xml) and {@code ChildJvm} passes on.
 */
public final class TestEngines {
    /** The system property naming the plug-in's file (build/native/libferry_testops.so). */
    public static final String PROPERTY = "ferry.test.testops";
    /** The plug-in's init function. */
    public static final String INIT = "ferry_testops_init";
    /** The test ops' names, for the checks that an engine without the plug-in has none of them. */
    public static final String[] OPS = {"noop", "add", "echo", "add_f64", "echo_bytes", "echo_string", "checksum",
        "spin", "fail", "order", "var_add", "counter"};

    private TestEngines() {
    }

    /** The plug-in's file; fails with what to do when the property is not set or names no file. */
    public static Path library() {
        String file = System.getProperty(PROPERTY);
        if (file == null || file.isBlank()) {
            throw new IllegalStateException("-D" + PROPERTY + " is not set: it names the test ops' plug-in "
                    + "build/native/libferry_testops.so (make native builds it; Maven's Surefire sets the property)");
        }
        Path path = Path.of(file);
        if (!Files.isReadable(path)) {
            throw new IllegalStateException("-D" + PROPERTY + "=" + file + " is not a readable file (run make native)");
        }
        return path;
    }

    /** {@link Engine#builder()} with the test ops' plug-in; a later {@code library(...)} replaces it. */
    public static EngineBuilder builder() {
        return Engine.builder().library(library(), INIT);
    }
}
