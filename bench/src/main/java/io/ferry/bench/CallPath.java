package io.ferry.bench;

import java.util.LinkedHashMap;
import java.util.Map;

/**
 * One way of handing {@code x} to another thread and getting {@code x + 1} back (or, for the floors,
 * the least such a hand-off can cost). Every path checks every result it gets.
 *
 * <p>The benchmarks drive a path in bursts: {@link #resume()}, {@link #warm} untimed calls (which pay
 * any wake-up), {@link #burst} timed calls, and later {@link #quiesce()}, which makes the path's own
 * threads stop using CPU (park an echo or consumer thread, or wait until an engine thread sleeps), so
 * that whatever is measured next has the two vCPUs to itself.
 *
 * <p>A path is used by one benchmark thread at a time; its threads are daemon threads and
 * {@link #close()} stops them.
 */
abstract class CallPath implements AutoCloseable {
    /** Calls in flight per pipelined group (callBatch size, queue requests, futures). */
    static final int DEPTH = 256;
    /** The idle time before each call of the paths that measure a parked hand-off, in µs. */
    static final int GAP_US = 20;

    final String name;
    /** Timed calls per burst. */
    final int burst;
    /** Untimed calls before each timed burst. */
    final int warm;

    /**
     * If above 0, {@link #runSpaced} leaves this much idle time (the caller spinning) before each call,
     * so that the other side has gone to sleep when the call comes, and times the calls only.
     */
    final long gapNs;

    CallPath(String name, int burst, int warm) {
        this(name, burst, warm, 0);
    }

    CallPath(String name, int burst, int warm, long gapNs) {
        this.name = name;
        this.burst = burst;
        this.warm = warm;
        this.gapNs = gapNs;
    }

    /**
     * A spaced call slower than this paid a slow wake-up. This host wakes a thread in one of two ways:
     * ~2 µs when the other vCPU is running (or the woken thread shares the waker's), ~20 µs when the
     * host has to resume a halted vCPU; a round trip pays two wakes, ~4 or ~45 µs. Which one a path
     * gets depends on where the scheduler placed its threads and stays for seconds at a time, so paths
     * measured in the same cycles can be in different modes; comparisons of spaced paths are made
     * within one mode.
     */
    static final long SLOW_WAKE_NS = 15_000;

    /** The time of each call of the last {@link #runSpaced} (the first {@link #spacedCalls}). */
    long[] spacedNanos = new long[0];
    int spacedCalls;

    /** Before each call, spin for {@link #gapNs}; returns the time spent in the calls only. */
    final long runSpaced(int n) {
        if (spacedNanos.length < n) {
            spacedNanos = new long[n];
        }
        long total = 0;
        for (int i = 0; i < n; i++) {
            idleGap();
            long t0 = System.nanoTime();
            run(1);
            long t = System.nanoTime() - t0;
            spacedNanos[i] = t;
            total += t;
        }
        spacedCalls = n;
        return total;
    }

    /** Spins (on the caller's CPU, so it does not itself go to sleep) for {@link #gapNs}. */
    final void idleGap() {
        long until = System.nanoTime() + gapNs;
        while (System.nanoTime() < until) {
            Thread.onSpinWait();
        }
    }

    /** Makes {@code n} calls (a multiple of {@link #DEPTH} for pipelined paths), checking every result. */
    abstract void run(int n);

    /**
     * The time of the last {@link #run} measured by the path itself, or -1 if the caller's clock around
     * run() is the right one. Multi-producer paths time from their first producer's start to their last
     * producer's end, leaving out the wake-up of parked producers.
     */
    long lastRunNanos() {
        return -1;
    }

    /** Before a burst: wake whatever {@link #quiesce()} put to sleep. */
    void resume() {
    }

    /** After a burst: make this path's threads stop using CPU. */
    void quiesce() {
    }

    @Override
    public void close() {
    }

    static IllegalStateException wrong(String path, long x, long r) {
        return new IllegalStateException(path + ": sent " + x + ", got " + r + " back, expected " + (x + 1));
    }

    /** What each path measures, in the words the report uses; also the list of valid names. */
    static final Map<String, String> DESCRIPTIONS = new LinkedHashMap<>();

    static {
        DESCRIPTIONS.put("java_floor", "Java floor: two threads ping-pong x / x+1 through two padded longs, both spinning");
        DESCRIPTIONS.put("c_floor", "C floor: two pthreads ping-pong one cache line, both spinning (one downcall per burst)");
        DESCRIPTIONS.put("ffm_direct", "Direct FFM downcall of a C add on the caller's thread: the cost of not offloading");
        DESCRIPTIONS.put("ffm_critical", "The same downcall with Linker.Option.critical(false)");
        DESCRIPTIONS.put("ferry_spin", "Ferry add.call(x, 1), preset LOWEST_LATENCY (caller and engine spin)");
        DESCRIPTIONS.put("ferry_default", "Ferry add.call(x, 1), default preset BALANCED, engine awake");
        DESCRIPTIONS.put("ferry_parked", "Ferry add.call, preset LOWEST_CPU, one call every " + GAP_US + " µs: the engine "
                + "is asleep when the call comes and the caller parks until the engine wakes it (two wake-ups); calls timed, gaps not");
        DESCRIPTIONS.put("ferry_nospin", "The same spaced calls with WaitPolicy.Backoff(0, 0) (caller spin 0, engine idle spin 0): the caller "
                + "parks as soon as it has published (after 64 polls) and the engine sleeps as soon as it is idle");
        DESCRIPTIONS.put("ferry_async", "Ferry add.callAsync(x, 1).join(), default preset (completes on the common pool)");
        DESCRIPTIONS.put("ferry_batch", "Ferry add.callBatch of " + DEPTH + " calls: one producer, " + DEPTH
                + " in flight (as 32-byte items of one batch slot), then waits for the last; caller spin as LOWEST_LATENCY, "
                + "engine idle spin 1 ms (it spins through the burst, as the JCTools consumer does); per call");
        DESCRIPTIONS.put("ferry_async_pipelined", "Ferry callAsync one by one, " + DEPTH + " futures in flight, then "
                + "joins them; per call");
        for (int p : new int[] {1, 2, 4, 8}) {
            DESCRIPTIONS.put("ferry_p" + p, "Ferry add.call from " + p + " platform producer thread" + (p == 1 ? "" : "s")
                    + " at once, default preset; time per call of all producers together");
        }
        DESCRIPTIONS.put("ferry_p64", "Ferry add.call from 64 virtual threads at once (JMH's virtual executor), "
                + "default preset; calls/s of all of them together");
        DESCRIPTIONS.put("executor", "Executors.newSingleThreadExecutor(): submit(() -> x + 1).get()");
        DESCRIPTIONS.put("cf_supply", "CompletableFuture.supplyAsync(() -> x + 1, that executor).join()");
        DESCRIPTIONS.put("disruptor_spin", "LMAX Disruptor 4 (multi-producer ring), BusySpinWaitStrategy; caller "
                + "spins on its response cell");
        DESCRIPTIONS.put("disruptor_block", "LMAX Disruptor 4, BlockingWaitStrategy; caller parks until the handler "
                + "unparks it");
        DESCRIPTIONS.put("jctools", "JCTools MpscArrayQueue of requests, spinning consumer; caller spins on its "
                + "request's response field");
        DESCRIPTIONS.put("jctools_pipelined", "JCTools MpscArrayQueue, " + DEPTH + " requests in flight from one "
                + "producer, then waits for the last; per call");
        DESCRIPTIONS.put("park_unpark", "LockSupport.park/unpark hand-off both ways, one call every " + GAP_US + " µs: the "
                + "server thread and the caller both park (two wake-ups); calls timed, gaps not");
    }

    /** A new path by name (see {@link #DESCRIPTIONS}). */
    static CallPath create(String name) {
        return switch (name) {
            case "java_floor" -> new Floors.JavaFloor();
            case "c_floor" -> new Floors.CFloor();
            case "ffm_direct" -> new Floors.Direct(name, false);
            case "ffm_critical" -> new Floors.Direct(name, true);
            case "ferry_spin", "ferry_default", "ferry_parked", "ferry_nospin" -> FerryPaths.sync(name);
            case "ferry_async" -> new FerryPaths.Async(name);
            case "ferry_batch" -> new FerryPaths.Batch(name);
            case "ferry_async_pipelined" -> new FerryPaths.AsyncPipelined(name);
            case "ferry_p1", "ferry_p2", "ferry_p4", "ferry_p8" ->
                    new FerryPaths.Producers(name, Integer.parseInt(name.substring("ferry_p".length())));
            case "executor" -> new Peers.ExecutorSubmit(name);
            case "cf_supply" -> new Peers.SupplyAsync(name);
            case "disruptor_spin" -> new Peers.DisruptorPath(name, false);
            case "disruptor_block" -> new Peers.DisruptorPath(name, true);
            case "jctools" -> new Peers.Jctools(name, false);
            case "jctools_pipelined" -> new Peers.Jctools(name, true);
            case "park_unpark" -> new Peers.ParkUnpark(name);
            default -> throw new IllegalArgumentException("unknown path: " + name + "; known: " + DESCRIPTIONS.keySet());
        };
    }
}
