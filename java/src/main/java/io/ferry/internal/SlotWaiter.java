package io.ferry.internal;

/**
 * A producer waiting in {@link BackPressure}'s queue: for its claimed sequence's slot to be free, or
 * ({@link #UNCLAIMED}) for its turn to claim. Each thread reuses one instance, fetched before its claim,
 * so that waiting between a claim and its publish allocates nothing; a thread waits for one slot at a
 * time. The links and {@link #seq} are guarded by the queue's lock.
 */
final class SlotWaiter {
    /** {@link #seq} of a producer that has not claimed yet (a timed call, or one behind such). */
    static final long UNCLAIMED = -1;
    private static final ThreadLocal<SlotWaiter> CACHE = new ThreadLocal<>();

    final Thread thread;
    long seq = UNCLAIMED;
    SlotWaiter prev;
    SlotWaiter next;
    boolean queued;

    private SlotWaiter(Thread thread) {
        this.thread = thread;
    }

    /** This thread's instance; allocates on a thread's first call only. */
    static SlotWaiter current() {
        SlotWaiter w = CACHE.get();
        if (w == null) {
            w = new SlotWaiter(Thread.currentThread());
            CACHE.set(w);
        }
        return w;
    }
}
