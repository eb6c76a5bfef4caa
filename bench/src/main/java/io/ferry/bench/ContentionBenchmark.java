package io.ferry.bench;

import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One round trip per invocation while {@code busy} background spinners keep the cores busy: the
 * question is whether Ferry's waiting degrades more than a single-thread executor's when the engine
 * thread and the caller have to share the two vCPUs with others. The spinners run either in this JVM
 * ({@code where=jvm}: platform threads, each a tight loop on a volatile flag) or in other processes
 * ({@code where=process}: {@code sh -c 'while :; do :; done'}), N = 1, 2 and 4 on 2 vCPUs. JMH samples
 * every call ({@link Mode#SampleTime}), so the report has p50 and p99 per path; the targets compare
 * {@code ferry_default} with {@code executor} at the same N and where, and a virtual-thread caller with
 * a platform one.
 */
@BenchmarkMode(Mode.SampleTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Threads(1)
@Warmup(iterations = 2, time = 1)
@Measurement(iterations = 4, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g"})
public class ContentionBenchmark {

    /** The background load: {@code busy} spinners in this JVM or in other processes. */
    @State(Scope.Benchmark)
    public static class Load {
        @Param({"1", "2", "4"})
        public int busy;

        @Param({"jvm", "process"})
        public String where;

        private final AtomicBoolean stop = new AtomicBoolean();
        private final List<Thread> threads = new ArrayList<>();
        private final List<Process> processes = new ArrayList<>();

        @Setup(Level.Trial)
        public void start() throws IOException {
            for (int i = 0; i < busy; i++) {
                if (where.equals("jvm")) {
                    Thread t = new Thread(this::spin, "busy-" + i);
                    t.setDaemon(true);
                    t.start();
                    threads.add(t);
                } else {
                    processes.add(new ProcessBuilder("sh", "-c", "while :; do :; done")
                            .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.DISCARD).start());
                }
            }
        }

        /** A tight loop on a volatile flag: all of a core, no allocation, no syscalls. */
        private void spin() {
            while (!stop.get()) {
                // busy
            }
        }

        @TearDown(Level.Trial)
        public void stop() throws InterruptedException {
            stop.set(true);
            for (Thread t : threads) {
                t.join();
            }
            for (Process p : processes) {
                p.destroyForcibly().waitFor();
            }
        }
    }

    @State(Scope.Thread)
    public static class Platform extends PathState {
        @Param({"ferry_default", "executor"})
        public String cpath;

        @Setup(Level.Trial)
        public void setUp() {
            open(cpath);
        }
    }

    @State(Scope.Thread)
    public static class Virtual extends PathState {
        @Param({"ferry_default"})
        public String cvpath;

        @Setup(Level.Trial)
        public void setUp() {
            open(cvpath);
        }
    }

    @Benchmark
    public void platform(Load load, Platform s) {
        s.p.run(1);
    }

    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED", "-Xms1g", "-Xmx1g",
            "-Djmh.executor=VIRTUAL"})
    public void virtual(Load load, Virtual s) {
        s.p.run(1);
    }
}
