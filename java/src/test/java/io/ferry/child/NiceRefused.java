package io.ferry.child;

import static io.ferry.child.ChildJvm.mark;

import io.ferry.Engine;
import io.ferry.EngineStartException;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;

/**
 * Run as a user without CAP_SYS_NICE: asks for an engine at a nice value below this thread's and
 * reports the refusal, then how many engine threads are left (the failed start must have joined its
 * own). Exits 0 if the start was refused, 1 if an engine started.
 */
public final class NiceRefused {
    public static void main(String[] args) throws IOException {
        int below = Math.max(-20, niceOfThisThread() - 1);
        try (Engine engine = Engine.builder().engineNice(below).start()) {
            mark("started at nice " + engine.engineNice());
            System.exit(1);
        } catch (EngineStartException e) {
            mark("refused code=" + e.code() + " message=" + e.getMessage());
        }
        mark("engine threads left=" + engineThreads());
    }

    /** This thread's nice value: field 19 of /proc/thread-self/stat (fields counted after the comm's ')'). */
    public static int niceOfThisThread() throws IOException {
        String stat = Files.readString(Path.of("/proc/thread-self/stat"));
        String[] fields = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        return Integer.parseInt(fields[19 - 3]);
    }

    static long engineThreads() throws IOException {
        try (Stream<Path> tasks = Files.list(Path.of("/proc/self/task"))) {
            return tasks.filter(t -> {
                try {
                    return Files.readString(t.resolve("comm")).strip().equals("ferry-engine");
                } catch (IOException e) {
                    return false; // the thread exited meanwhile
                }
            }).count();
        }
    }
}
