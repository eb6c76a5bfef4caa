package io.ferry.child;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/** What /proc says about this process's threads, for the tests and the child mains. */
public final class Proc {
    private Proc() {
    }

    /** Threads of this process named after an engine of the default name, "ferry". */
    public static long engineThreads() throws IOException {
        return threadsNamed("ferry");
    }

    /** Threads of this process whose kernel name (comm) is name. */
    public static long threadsNamed(String name) throws IOException {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.filter(t -> {
                try {
                    return Files.readString(t.resolve("comm")).strip().equals(name);
                } catch (IOException gone) {
                    return false; // the thread exited meanwhile
                }
            }).count();
        }
    }

    /** This thread's nice value: field 19 of /proc/thread-self/stat (fields counted after the comm's ')'). */
    public static int niceOfThisThread() throws IOException {
        String stat = Files.readString(Path.of("/proc/thread-self/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Integer.parseInt(fields[19 - 3]);
    }

    /** This thread's CPU time (user + system) in ns, from /proc/thread-self/stat (10 ms resolution). */
    public static long cpuNanosOfThisThread() throws IOException {
        String stat = Files.readString(Path.of("/proc/thread-self/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        long ticks = Long.parseLong(fields[14 - 3]) + Long.parseLong(fields[15 - 3]);
        return ticks * 10_000_000L; // USER_HZ is 100 on Linux
    }
}
