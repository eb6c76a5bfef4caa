package io.ferry.child;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Runs one of the mains in this package in a fresh JVM (the test JVM's java and class path) and
 * collects what it printed. A child that does not exit by the deadline is thread-dumped, destroyed
 * forcibly, and reported as an AssertionError carrying its output.
 */
public final class ChildJvm {
    /** Every line a child prints for the tests to look for starts with this. */
    public static final String MARK = "[ferry-child] ";

    private ChildJvm() {
    }

    /** Prints a marker line, flushed at once so it survives an abrupt exit. */
    public static void mark(String text) {
        System.out.println(MARK + text);
        System.out.flush();
    }

    public record Result(String main, int exitCode, String stdout, String stderr, long elapsedMillis) {
        /** The marker lines, in the order printed, without the prefix. */
        public List<String> marks() {
            List<String> out = new ArrayList<>();
            for (String line : stdout.split("\\R")) {
                if (line.startsWith(MARK)) {
                    out.add(line.substring(MARK.length()));
                }
            }
            return out;
        }

        /** Everything the child printed, for assertion messages. */
        public String describe() {
            return main + " exited with " + exitCode + " after " + elapsedMillis + " ms\n--- stdout ---\n" + stdout
                    + "--- stderr ---\n" + stderr + "--------------";
        }
    }

    /**
     * Starts {@code main} in a child JVM and waits at most {@code deadline} for it to exit on its own.
     *
     * @param nativeAccess whether to pass --enable-native-access=ALL-UNNAMED
     */
    public static Result run(Class<?> main, boolean nativeAccess, Duration deadline, String... args)
            throws IOException, InterruptedException {
        return runUnder(List.of(), main, nativeAccess, deadline, args);
    }

    /**
     * {@link #run} with the java command run by another, e.g. {@code setpriv ... } to run the child
     * as another user.
     */
    public static Result runUnder(List<String> wrapper, Class<?> main, boolean nativeAccess, Duration deadline,
            String... args) throws IOException, InterruptedException {
        Path java = Path.of(System.getProperty("java.home"), "bin", "java");
        List<String> cmd = new ArrayList<>(wrapper);
        cmd.add(java.toString());
        if (nativeAccess) {
            cmd.add("--enable-native-access=ALL-UNNAMED");
        }
        for (String property : List.of("ferry.library.path", "ferry.test.testops")) {
            String value = System.getProperty(property);
            if (value != null) {
                cmd.add("-D" + property + "=" + value);
            }
        }
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add(main.getName());
        cmd.addAll(List.of(args));

        Path out = Files.createTempFile("ferry-child-", ".out");
        Path err = Files.createTempFile("ferry-child-", ".err");
        try {
            ProcessBuilder pb = new ProcessBuilder(cmd).redirectOutput(out.toFile()).redirectError(err.toFile())
                    .redirectInput(ProcessBuilder.Redirect.from(new File("/dev/null")));
            long start = System.nanoTime();
            Process p = pb.start();
            boolean exited = p.waitFor(deadline.toNanos(), TimeUnit.NANOSECONDS);
            long elapsed = TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - start);
            if (!exited) {
                String dump = threadDump(p.pid());
                p.destroyForcibly();
                p.waitFor(10, TimeUnit.SECONDS);
                Result r = new Result(main.getSimpleName(), -1, read(out), read(err), elapsed);
                throw new AssertionError(main.getSimpleName() + " did not exit on its own within " + deadline
                        + "; destroyed it.\n" + r.describe() + "\n--- thread dump at the deadline ---\n" + dump);
            }
            return new Result(main.getSimpleName(), p.exitValue(), read(out), read(err), elapsed);
        } finally {
            Files.deleteIfExists(out);
            Files.deleteIfExists(err);
        }
    }

    private static String read(Path p) throws IOException {
        return Files.readString(p, StandardCharsets.UTF_8);
    }

    /** A jcmd thread dump of the stuck child, bounded in time; best effort. */
    private static String threadDump(long pid) {
        Path dump = null;
        try {
            dump = Files.createTempFile("ferry-child-", ".dump");
            Path jcmd = Path.of(System.getProperty("java.home"), "bin", "jcmd");
            Process p = new ProcessBuilder(jcmd.toString(), Long.toString(pid), "Thread.print")
                    .redirectErrorStream(true).redirectOutput(dump.toFile()).start();
            if (!p.waitFor(10, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            return read(dump);
        } catch (IOException | InterruptedException e) {
            return "(no thread dump: " + e + ")";
        } finally {
            if (dump != null) {
                try {
                    Files.deleteIfExists(dump);
                } catch (IOException ignored) {
                    // a leftover temp file is harmless
                }
            }
        }
    }
}
