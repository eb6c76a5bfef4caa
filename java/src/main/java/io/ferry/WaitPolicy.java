package io.ferry;

import java.time.Duration;
import java.util.Objects;

/**
 * How callers and the engine wait: a caller for its result and for a free slot, an idle engine for the
 * next call. One object carries every budget, as Agrona's idle strategies do; pass it to
 * {@link EngineBuilder#waitPolicy}. Spinning buys latency with CPU: on the 2-vCPU VMs Ferry is measured
 * on, a cache-line hand-off costs ~100 ns and waking a sleeping thread ~45 µs
 * (bench/RESULTS.md, 2026-11-21: {@code java_floor} 106 ns, {@code park_unpark} slow wakes 44 µs).
 *
 * <p>Whatever the policy, a caller that had to wake a sleeping engine parks at once (the wake-up takes
 * longer than any spin), and an interrupted caller never spins. A virtual thread parks at once (its
 * carrier then runs other virtual threads, or leaves the core to the engine thread) when calls are
 * queued ahead of its own or when its own call is long ({@code stats.call_ns}, measured by the engine);
 * otherwise it waits as a platform thread does, yielding its carrier where a platform thread yields its
 * CPU, and stepping aside with the platform callers under the adaptive policy.
 */
public sealed interface WaitPolicy permits WaitPolicy.Spin, WaitPolicy.Backoff, WaitPolicy.Adaptive {

    /**
     * Lowest latency: callers spin up to 10 ms for a result, an idle engine spins 100 ms before it sleeps.
     * Both burn a core while they wait. Under CPU contention (more runnable threads than cores) this
     * degrades: a spinning caller holds the core the engine needs, so a call can take a scheduler time
     * slice (ms). ContentionBenchmark, 2026-12-04 (2 vCPUs): see bench/RESULTS.md for its p50 and p99.
     */
    WaitPolicy LOWEST_LATENCY = new Spin(Duration.ofMillis(10), Duration.ofMillis(100));

    /**
     * The default: {@link Adaptive} with callers spinning up to 20 µs and an idle engine up to 50 µs,
     * both stepping aside (parking, sleeping) as soon as the machine shows it has no spare core.
     */
    WaitPolicy BALANCED = new Adaptive(Duration.ofNanos(20_000), Duration.ofNanos(50_000));

    /**
     * Lowest CPU: callers park after 1 µs, an idle engine sleeps at once, so each call pays wake-ups
     * (~4 µs fast, ~45 µs when the vCPU was halted: {@code ferry_parked}, bench/RESULTS.md 2026-11-21).
     * An idle spin of even 0.3 to 2 µs after the engine woke a parked caller made that caller's round trip
     * ~2 to 3 µs slower on a 2-vCPU VM: the spinning vCPU holds up the one being woken.
     */
    WaitPolicy LOWEST_CPU = new Backoff(Duration.ofNanos(1_000), Duration.ZERO);

    /**
     * How long a caller spins on its result (or on its claimed slot) at most before it parks.
     *
     * @return the caller's spin budget
     */
    Duration callerSpin();

    /**
     * How long an idle engine spins at most before it sleeps on a futex.
     *
     * @return the engine's idle spin budget
     */
    Duration engineIdleSpin();

    /**
     * Spin for the whole budgets, whatever else runs: a caller polls its result (yielding its CPU after
     * 5 µs, so that more spinners than cores still make progress), then parks; the engine polls for the
     * next call, then sleeps.
     *
     * @param callerSpin how long a caller spins before it parks
     * @param engineIdleSpin how long an idle engine spins before it sleeps
     */
    record Spin(Duration callerSpin, Duration engineIdleSpin) implements WaitPolicy {
        /**
         * Checks the budgets.
         *
         * @param callerSpin how long a caller spins before it parks
         * @param engineIdleSpin how long an idle engine spins before it sleeps
         * @throws IllegalArgumentException if a budget is negative
         */
        public Spin {
            nonNegative("callerSpin", callerSpin);
            nonNegative("engineIdleSpin", engineIdleSpin);
        }
    }

    /**
     * Spin then park, with fixed budgets: like {@link Spin}, but meant for short budgets (zero: park and
     * sleep at once), as {@link #LOWEST_CPU}.
     *
     * @param callerSpin how long a caller spins before it parks
     * @param engineIdleSpin how long an idle engine spins before it sleeps
     */
    record Backoff(Duration callerSpin, Duration engineIdleSpin) implements WaitPolicy {
        /**
         * Checks the budgets.
         *
         * @param callerSpin how long a caller spins before it parks
         * @param engineIdleSpin how long an idle engine spins before it sleeps
         * @throws IllegalArgumentException if a budget is negative
         */
        public Backoff {
            nonNegative("callerSpin", callerSpin);
            nonNegative("engineIdleSpin", engineIdleSpin);
        }
    }

    /**
     * Spin only while spinning pays: the budgets are upper bounds, and a waiter stops early when the
     * machine shows it has no spare core.
     * <ul>
     *   <li>A caller parks at once if the engine has not started its call within a few microseconds (plus
     *       what the calls ahead of it take, from {@code stats.call_ns}): the engine is off its core, and a
     *       spinning caller would only keep it off longer. It also parks if its own spin was descheduled
     *       (a poll window of tens of microseconds), and it yields its CPU between polls after a few.
     *   <li>An idle engine yields its core between polls after a few microseconds (a caller it has just
     *       woken may be waiting for that core), and sleeps at once if a poll window or a yield shows that
     *       another thread ran meanwhile.
     * </ul>
     * The exact thresholds and the measurements behind them are in {@code io.ferry.internal.WaitRules}.
     *
     * @param callerSpin how long a caller spins at most before it parks
     * @param engineIdleSpin how long an idle engine spins at most before it sleeps
     */
    record Adaptive(Duration callerSpin, Duration engineIdleSpin) implements WaitPolicy {
        /**
         * Checks the budgets.
         *
         * @param callerSpin how long a caller spins at most before it parks
         * @param engineIdleSpin how long an idle engine spins at most before it sleeps
         * @throws IllegalArgumentException if a budget is negative
         */
        public Adaptive {
            nonNegative("callerSpin", callerSpin);
            nonNegative("engineIdleSpin", engineIdleSpin);
        }
    }

    private static void nonNegative(String what, Duration d) {
        Objects.requireNonNull(d, what);
        if (d.isNegative()) {
            throw new IllegalArgumentException(what + "=" + d + ": must not be negative");
        }
    }
}
