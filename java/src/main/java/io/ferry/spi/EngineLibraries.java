package io.ferry.spi;

import io.ferry.internal.NativeLibrary;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Path;
import java.util.Objects;

/**
 * Where an engine's C plug-in is, and its symbols. A plug-in links against {@code libferry.so} (with an
 * {@code $ORIGIN} run path), so a bundled copy is extracted into the same private directory as Ferry's own
 * library, which is loaded first.
 */
public final class EngineLibraries {
    private EngineLibraries() {
    }

    /**
     * The plug-in's file: the file {@code property} names if that system property is set, else the file of
     * that name beside {@code -Dferry.library.path}, else the copy that {@code owner}'s jar bundles as the
     * resource {@code /META-INF/native/<os>-<arch>/<name>} (Ferry's jar bundles linux-x86_64).
     *
     * @param owner a class of the binding, whose jar (or module) holds the bundled copy
     * @param name the library's file name, for example {@code libferry_sqlite.so}
     * @param property the system property that may name the file, or null
     * @return the path of a readable copy of the library
     * @throws IOException if neither the property, the sibling nor the bundled copy gives one
     */
    public static Path locate(Class<?> owner, String name, String property) throws IOException {
        Objects.requireNonNull(owner, "owner");
        Objects.requireNonNull(name, "name");
        NativeLibrary.lookup(); // libferry first: the plug-in links against it
        return NativeLibrary.locate(owner, name, property);
    }

    /**
     * The symbols of a plug-in {@link #locate located} as above, for downcalls to its own non-op functions
     * (counters, frees). The library stays loaded for the life of the JVM.
     *
     * @param owner a class of the binding, whose jar (or module) holds the bundled copy
     * @param name the library's file name
     * @param property the system property that may name the file, or null
     * @return the library's symbols
     * @throws IOException if the library cannot be found
     */
    @SuppressWarnings("restricted")
    public static SymbolLookup lookup(Class<?> owner, String name, String property) throws IOException {
        return SymbolLookup.libraryLookup(locate(owner, name, property), Arena.global());
    }
}
