package io.ferry.internal;

import java.util.concurrent.atomic.LongAdder;

/**
 * What callers count for {@code Engine.stats()}: only on rare paths (a timeout, a cancel, an interrupt, a
 * rejected try, a park and the wake-up that ends it), never on a sync call's fast path. Each site is one
 * line marked {@code // counters} in the call protocol's classes.
 */
public final class CallerCounters {
    /** Calls given up at their deadline (waiting for the result, or for a free slot). */
    public final LongAdder timedOut = new LongAdder();
    /** Async calls given up by their future (cancel, orTimeout, a user's completion). */
    public final LongAdder cancelled = new LongAdder();
    /** Calls given up because their caller was interrupted. */
    public final LongAdder interrupted = new LongAdder();
    /** tryCall attempts that found every slot in flight and sent nothing. */
    public final LongAdder rejected = new LongAdder();
    /** Callers that parked for their result (announced PARKED). */
    public final LongAdder parks = new LongAdder();
    /** Parked callers the engine's wake upcall unparked with their outcome. */
    public final LongAdder wakeups = new LongAdder();
}
