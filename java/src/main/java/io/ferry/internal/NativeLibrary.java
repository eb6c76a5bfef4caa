package io.ferry.internal;

import java.io.IOException;
import java.io.InputStream;
import java.lang.foreign.Arena;
import java.lang.foreign.SymbolLookup;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.Locale;

/**
 * Finds and loads libferry.so once: from {@code -Dferry.library.path=FILE} if set, else from the copy
 * bundled in the jar under {@code META-INF/native/<os>-<arch>/}, extracted to a unique temporary file.
 * Availability is a question with an answer: {@link #isAvailable()} and {@link #unavailabilityCause()}.
 */
public final class NativeLibrary {
    public static final String PATH_PROPERTY = "ferry.library.path";
    private static final String PLATFORM = platform();
    private static final SymbolLookup LOOKUP;
    private static final Throwable CAUSE;

    static {
        SymbolLookup lookup = null;
        Throwable cause = null;
        try {
            lookup = load();
        } catch (Throwable t) {
            cause = t;
        }
        LOOKUP = lookup;
        CAUSE = cause;
    }

    private NativeLibrary() {
    }

    public static boolean isAvailable() {
        return CAUSE == null;
    }

    public static Throwable unavailabilityCause() {
        return CAUSE;
    }

    /** The library's symbols; throws an exception that says what is missing when it cannot load. */
    public static SymbolLookup lookup() {
        if (CAUSE != null) {
            throw new UnsatisfiedLinkError("Ferry's native library is not available: " + CAUSE.getMessage());
        }
        return LOOKUP;
    }

    static String platform() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String o = os.contains("linux") ? "linux" : os.replaceAll("[^a-z0-9]", "");
        String a = switch (arch) {
            case "amd64", "x86_64" -> "x86_64";
            case "aarch64", "arm64" -> "aarch64";
            default -> arch;
        };
        return o + "-" + a;
    }

    @SuppressWarnings("restricted")
    private static SymbolLookup load() throws IOException {
        Module module = NativeLibrary.class.getModule();
        if (!module.isNativeAccessEnabled()) {
            String who = module.isNamed() ? module.getName() : "ALL-UNNAMED";
            throw new IllegalCallerException("Ferry needs native access: start java with --enable-native-access="
                    + who + " (or add 'Enable-Native-Access: ALL-UNNAMED' to an executable jar's manifest)");
        }
        return SymbolLookup.libraryLookup(locate("libferry.so", PATH_PROPERTY), Arena.global());
    }

    private static Path extracted;

    /**
     * Where a native library of Ferry's is: the file a system property names, else (for companions of
     * libferry) the file of that name beside {@code -Dferry.library.path}, else the copy bundled in the jar,
     * extracted into one private temporary directory shared by all of Ferry's libraries (so that an
     * engine library finds libferry.so beside it).
     *
     * @param property the system property that may name the file, or null
     */
    public static Path locate(String name, String property) throws IOException {
        return locate(NativeLibrary.class, name, property);
    }

    /** As {@link #locate(String, String)}, with the bundled copy read from {@code owner}'s jar or module. */
    public static synchronized Path locate(Class<?> owner, String name, String property) throws IOException {
        String explicit = property == null ? null : System.getProperty(property);
        if (explicit != null && !explicit.isBlank()) {
            Path file = Path.of(explicit);
            if (!Files.isReadable(file)) {
                throw new IOException("-D" + property + "=" + explicit + " does not name a readable file");
            }
            return file.toAbsolutePath();
        }
        String base = System.getProperty(PATH_PROPERTY);
        if (base != null && !base.isBlank()) {
            Path sibling = Path.of(base).toAbsolutePath().resolveSibling(name);
            if (Files.isReadable(sibling)) {
                return sibling;
            }
        }
        String resource = "/META-INF/native/" + PLATFORM + "/" + name;
        try (InputStream in = owner.getResourceAsStream(resource)) {
            if (in == null) {
                throw new IOException("no " + name + " for " + PLATFORM + " in the jar (" + resource
                        + "); Ferry ships linux-x86_64. Build it for this platform and point -D"
                        + (property == null ? PATH_PROPERTY : property) + " at it");
            }
            if (extracted == null) {
                extracted = Files.createTempDirectory("ferry-native-");
                extracted.toFile().deleteOnExit();
            }
            Path file = extracted.resolve(name);
            if (!Files.exists(file)) {
                Files.copy(in, file, StandardCopyOption.REPLACE_EXISTING);
                file.toFile().deleteOnExit();
            }
            return file;
        }
    }
}
