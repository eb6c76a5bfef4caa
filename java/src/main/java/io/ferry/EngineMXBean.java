package io.ferry;

/**
 * An engine's statistics over JMX ({@link EngineBuilder#jmx(boolean)}), registered as
 * {@code io.ferry:type=Engine,name=<engine name>} while the engine runs, so JConsole, VisualVM and
 * metrics agents see it. Each attribute is the {@link EngineStats} figure of the same name, read afresh;
 * {@link #getStats()} is the whole snapshot as text.
 *
 * <p>For Micrometer (no dependency here), bind the attributes as executor-style meters:
 * {@code ferry.calls} (FunctionCounter of {@code Completed}, tag {@code outcome=...} for
 * {@code Failed}, {@code Skipped}, {@code TimedOut}, {@code Cancelled}, {@code Rejected}),
 * {@code ferry.queue.depth} (Gauge of {@code Queued}), {@code ferry.in.flight} (Gauge of
 * {@code InFlight}), {@code ferry.engine.busy} (Gauge of {@code EngineBusyFraction}), and, with
 * histograms on, a timer {@code ferry.call.wait} from {@link Engine#waitLatency()}; tag each with
 * {@code engine=<name>}. The README's Observability section shows the binder.
 */
public interface EngineMXBean {
    /**
     * The engine's name.
     *
     * @return the engine's name
     */
    String getName();

    /**
     * Ring slots.
     *
     * @return ring slots
     */
    int getCapacity();

    /**
     * Whether close() has begun.
     *
     * @return whether close() has begun
     */
    boolean isClosed();

    /**
     * Calls claimed on the ring.
     *
     * @return calls claimed on the ring
     */
    long getSubmitted();

    /**
     * Calls the engine is done with.
     *
     * @return calls the engine is done with
     */
    long getCompleted();

    /**
     * Calls whose op the engine ran.
     *
     * @return calls whose op the engine ran
     */
    long getRun();

    /**
     * Calls that ended in an error.
     *
     * @return calls that ended in an error
     */
    long getFailed();

    /**
     * Calls skipped because their caller gave up first.
     *
     * @return calls skipped because their caller gave up first
     */
    long getSkipped();

    /**
     * TryCall attempts that found the ring full.
     *
     * @return tryCall attempts that found the ring full
     */
    long getRejected();

    /**
     * Calls given up at their deadline.
     *
     * @return calls given up at their deadline
     */
    long getTimedOut();

    /**
     * Async calls given up by their future.
     *
     * @return async calls given up by their future
     */
    long getCancelled();

    /**
     * Calls in flight (the ring's depth).
     *
     * @return calls in flight (the ring's depth)
     */
    long getInFlight();

    /**
     * Calls submitted and not yet started.
     *
     * @return calls submitted and not yet started
     */
    long getQueued();

    /**
     * The engine thread's busy fraction since start.
     *
     * @return the engine thread's busy fraction since start
     */
    double getEngineBusyFraction();

    /**
     * The engine thread's CPU time in ns.
     *
     * @return the engine thread's CPU time in ns
     */
    long getEngineCpuNanos();

    /**
     * Times the idle engine slept and was woken.
     *
     * @return times the idle engine slept and was woken
     */
    long getEngineWakeups();

    /**
     * Callers that parked for their result.
     *
     * @return callers that parked for their result
     */
    long getCallerParks();

    /**
     * The whole snapshot, as {@link EngineStats#toString()}.
     *
     * @return the whole snapshot, as {@link EngineStats#toString()}
     */
    String getStats();
}
