package io.ferry;

import java.time.Duration;

/**
 * How long callers and the engine spin before they sleep. Spinning buys latency with CPU: on this kind
 * of machine waking a sleeping thread costs tens of microseconds, a cache-line hand-off ~100 ns.
 * Whatever the preset, a virtual thread spins only while its call is near the head of the queue (it
 * parks at once behind more than two waiting calls, unless the engine's calls are long): a spinning
 * carrier takes a core from the engine.
 */
public enum WaitPreset {
    /** Lowest latency: callers spin up to 10 ms for a result, an idle engine spins 100 ms before it sleeps. */
    LOWEST_LATENCY(Duration.ofMillis(10), Duration.ofMillis(100)),
    /** The default: callers spin 20 µs, an idle engine 50 µs; then both sleep and use no CPU. */
    BALANCED(Duration.ofNanos(20_000), Duration.ofNanos(50_000)),
    /**
     * Lowest CPU: callers park after 1 µs, an idle engine sleeps at once. Each call pays wake-ups. (An idle
     * spin of even 0.3 to 2 µs after the engine woke a parked caller made that caller's round trip ~2 to
     * 3 µs slower on a 2-vCPU VM: the spinning vCPU holds up the one being woken.)
     */
    LOWEST_CPU(Duration.ofNanos(1_000), Duration.ZERO);

    private final Duration callerSpin;
    private final Duration engineIdleSpin;

    WaitPreset(Duration callerSpin, Duration engineIdleSpin) {
        this.callerSpin = callerSpin;
        this.engineIdleSpin = engineIdleSpin;
    }

    /** How long a caller spins on its result before it parks. */
    public Duration callerSpin() {
        return callerSpin;
    }

    /** How long an idle engine spins before it sleeps. */
    public Duration engineIdleSpin() {
        return engineIdleSpin;
    }
}
