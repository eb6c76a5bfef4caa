package io.ferry.bench;

import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.net.URISyntaxException;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Bindings to bench/native/benchfloor.c, built by bench/Makefile into
 * {@code bench/target/native/libbenchfloor.so}: the trivial op for the direct-downcall floor and the
 * two-pthread cache-line ping-pong. Found through {@code -Dferry.bench.floorlib=FILE}, else next to the
 * benchmarks jar ({@code target/native/}), else under the working directory.
 */
final class BenchFloor {
    private BenchFloor() {
    }

    static final String PROPERTY = "ferry.bench.floorlib";
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LIB = load();

    /** {@code int64_t bench_add(int64_t, int64_t)}, called the default way. */
    static final MethodHandle ADD = downcall("bench_add", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG));
    /** The same function with {@code Linker.Option.critical(false)}: no thread-state transition. */
    static final MethodHandle ADD_CRITICAL = downcall("bench_add",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG), Linker.Option.critical(false));
    static final MethodHandle PP_START = downcall("bench_pp_start", FunctionDescriptor.of(JAVA_INT));
    static final MethodHandle PP_RUN = downcall("bench_pp_run", FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
    static final MethodHandle PP_PAUSE = downcall("bench_pp_pause", FunctionDescriptor.ofVoid());
    static final MethodHandle PP_RESUME = downcall("bench_pp_resume", FunctionDescriptor.ofVoid());
    static final MethodHandle PP_STOP = downcall("bench_pp_stop", FunctionDescriptor.ofVoid());

    @SuppressWarnings("restricted")
    private static SymbolLookup load() {
        Path lib = find();
        if (lib == null) {
            throw new IllegalStateException("libbenchfloor.so not found: build it with 'make -C bench native' (or "
                    + "'make bench' at the root), or point -D" + PROPERTY + "=FILE at it");
        }
        return SymbolLookup.libraryLookup(lib, Arena.global());
    }

    private static Path find() {
        String p = System.getProperty(PROPERTY);
        if (p != null) {
            return Path.of(p);
        }
        try {
            Path jar = Path.of(BenchFloor.class.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path beside = jar.resolveSibling("native").resolve("libbenchfloor.so");
            if (Files.isRegularFile(beside)) {
                return beside;
            }
        } catch (URISyntaxException | RuntimeException ignored) {
            // no code source: try the working directory
        }
        for (String candidate : new String[] {"target/native/libbenchfloor.so", "bench/target/native/libbenchfloor.so"}) {
            if (Files.isRegularFile(Path.of(candidate))) {
                return Path.of(candidate).toAbsolutePath();
            }
        }
        return null;
    }

    private static MethodHandle downcall(String name, FunctionDescriptor desc, Linker.Option... options) {
        return LINKER.downcallHandle(LIB.find(name).orElseThrow(
                () -> new UnsatisfiedLinkError("libbenchfloor.so has no symbol " + name)), desc, options);
    }
}
