package io.ferry.internal;

import io.ferry.CallInterruptedException;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.LockSupport;

/**
 * Claiming a slot and waiting for it to be free, with one FIFO queue of waiting producers.
 *
 * <ul>
 *   <li>While nobody queues to claim, an untimed call claims with one atomic add and then waits for
 *       its slot (queued by its sequence), and a timed call claims only a slot that is already free
 *       ({@link Ring#tryClaimCas}), so that it never waits after its claim.
 *   <li>A timed call that finds the ring full queues {@link SlotWaiter#UNCLAIMED}, and so does every
 *       call that arrives while such a waiter queues: they claim in arrival order, each as the tail's
 *       slot frees, so untimed calls cannot overtake a timed one for ever.
 * </ul>
 * Only the engine frees slots, when it takes a call (before it runs it), so a slot is held only while its
 * call is queued. Every free wakes the producers it concerns, so no waiter depends on its poll: a waiter
 * sets FREE_WAKE by a CAS on the previous lap's state, free or published ({@link Ring#requestFreeWake};
 * the publish keeps the flag), and the engine frees the slot with an exchange whose old value shows it,
 * and then makes the wake upcall ({@link #onSlotFreed}). A waiter more than one lap behind sets the flag
 * on the earlier lap the slot serves; that lap's free wakes it, with every waiter of the slot's later
 * laps, and it asks again. The poll ({@link WaitRules#BACKPRESSURE_POLL_NS}) stays as a bound should a
 * wake be lost all the same; BackPressureTest runs with a poll of an hour to show that no waiter depends
 * on it.
 */
final class BackPressure {

    private final EngineCore core;
    private final Ring ring;
    private final WaitRules rules;
    private final Object lock = new Object();
    /** The queue, oldest first (guarded by lock). */
    private SlotWaiter head, tail;
    /** Producers in the queue: a releaser that reads 0 takes no lock. */
    private volatile int waiting;
    /** Unclaimed producers in the queue: an arriving call queues behind them instead of claiming. */
    private volatile int unclaimed;

    BackPressure(EngineCore core, Ring ring, WaitRules rules) {
        this.core = core;
        this.ring = ring;
        this.rules = rules;
    }

    // ---- claiming --------------------------------------------------------------------------------

    /** Claims {@code slots} consecutive sequences with one atomic add; rejects once intake stopped. */
    long claim(int slots) {
        long t;
        try {
            t = ring.claimGetAndAdd(slots);
        } catch (IllegalStateException arenaClosed) {
            throw core.closed();
        }
        if (t < 0) {
            throw core.closed();
        }
        return t;
    }

    /** An untimed call's claim: at once, unless unclaimed producers queue; then behind them. */
    long claim(SlotWaiter w) {
        if (unclaimed == 0) {
            return claim(1);
        }
        try {
            return claimQueued(w, CallWait.NO_DEADLINE);
        } catch (TimeoutException impossible) {
            throw new AssertionError(impossible);
        }
    }

    /** A timed call's claim of a free slot, queued (in turn) until the deadline if there is none. */
    long claimBefore(long deadline, SlotWaiter w) throws TimeoutException {
        if (unclaimed == 0) {
            long t = tryClaim();
            if (t >= 0) {
                return t;
            }
        }
        return claimQueued(w, deadline);
    }

    /** A CAS claim that only takes a sequence whose slot is already free; -1 if the ring is full. */
    long tryClaim() {
        long t;
        try {
            t = ring.tryClaimCas();
        } catch (IllegalStateException arenaClosed) {
            throw core.closed();
        }
        if (t < 0 && t != Ring.FULL) {
            throw core.closed();
        }
        return t;
    }

    /**
     * Queues unclaimed, and claims a free slot once first among the unclaimed. Nothing is claimed
     * until it returns, so a timeout or an interrupt (whose status it keeps) sends no call.
     */
    private long claimQueued(SlotWaiter w, long deadline) throws TimeoutException {
        enqueue(w, SlotWaiter.UNCLAIMED);
        try {
            for (;;) {
                if (firstUnclaimed() == w) {
                    long t = tryClaim();
                    if (t >= 0) {
                        return t;
                    }
                    ring.requestFreeWake(ring.tailVolatile()); // then re-tried at once, or woken
                    t = tryClaim();
                    if (t >= 0) {
                        return t;
                    }
                }
                long now = System.nanoTime();
                if (now >= deadline) {
                    core.counters.caller.timedOut.increment(); // counters
                    throw new TimeoutException("engine '" + core.name() + "': no free slot before the deadline; call"
                            + " not sent");
                }
                if (Thread.currentThread().isInterrupted()) {
                    core.counters.caller.interrupted.increment(); // counters
                    throw new CallInterruptedException("engine '" + core.name() + "': the caller was interrupted"
                            + " while it waited for a free slot; call not sent");
                }
                LockSupport.parkNanos(this, Math.min(rules.backPressurePollNs, deadline - now));
            }
        } finally {
            dequeue(w);
            wakeFirstUnclaimed(); // our turn passes on, and more than one slot may be free
        }
    }

    // ---- waiting for a claimed slot ---------------------------------------------------------------

    /**
     * Waits until the claimed seq's slot is free: spins (yielding once the spin passes {@link
     * WaitRules#YIELD_AFTER_NS}, so that more spinners than cores still make progress), then queues and parks
     * until the engine's free wakes it. Allocates nothing, and an interrupt does not end it (the sequence is
     * claimed and must be published; the status is kept). Returns false only if the engine was
     * abandoned, which no release will follow.
     */
    boolean awaitFree(long seq, SlotWaiter w) {
        if (ring.isFreeAcquire(seq) || spinUntilFree(seq)) {
            return true;
        }
        enqueue(w, seq);
        boolean interrupted = false;
        try {
            for (;;) {
                // After the enqueue (a volatile store): the engine's free that follows our FREE_WAKE
                // finds us queued. Re-checked after the flag: either it is FREE or the engine wakes us.
                ring.requestFreeWake(seq);
                if (ring.isFreeAcquire(seq)) {
                    return true;
                }
                if (core.abandoned()) {
                    return false;
                }
                LockSupport.parkNanos(this, rules.backPressurePollNs);
                interrupted |= Thread.interrupted(); // park returns at once while it is set
            }
        } finally {
            dequeue(w);
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private boolean spinUntilFree(long seq) {
        long start = System.nanoTime();
        for (int i = 1; ; i++) {
            if (ring.isFreeAcquire(seq)) {
                return true;
            }
            if ((i & 63) == 0) {
                long spun = System.nanoTime() - start;
                // An interrupted caller never spins (LOWEST_LATENCY's budget is 10 ms): it queues and parks.
                if (spun >= rules.callerSpinNs || Thread.currentThread().isInterrupted()) {
                    return false;
                }
                if (spun >= WaitRules.YIELD_AFTER_NS) {
                    Thread.yield();
                    continue;
                }
            }
            Thread.onSpinWait();
        }
    }

    // ---- releases --------------------------------------------------------------------------------

    /**
     * Wakes the producers waiting for FREE(freedSeq) or a later lap of the same slot (those re-check and ask
     * for a wake again, now that the slot serves a newer lap), and the first unclaimed one.
     */
    private void wake(long freedSeq) {
        long mask = ring.capacity() - 1;
        synchronized (lock) {
            boolean unclaimedWoken = false;
            for (SlotWaiter n = head; n != null; n = n.next) {
                boolean sameSlot = n.seq != SlotWaiter.UNCLAIMED && n.seq >= freedSeq
                        && (n.seq & mask) == (freedSeq & mask);
                if (sameSlot || (!unclaimedWoken && n.seq == SlotWaiter.UNCLAIMED)) {
                    unclaimedWoken |= n.seq == SlotWaiter.UNCLAIMED;
                    LockSupport.unpark(n.thread);
                }
            }
        }
    }

    /** On the engine thread, from the wake upcall: the engine freed slot idx itself. */
    void onSlotFreed(int idx) {
        if (waiting == 0) {
            return;
        }
        // After the engine's exchange, a full fence: the slot serves the freed lap or a later one. Its waiter
        // and every later lap's are woken; each re-checks its own sequence.
        wake(ring.slotSeqAcquire(idx));
    }

    // ---- the queue -------------------------------------------------------------------------------

    private void enqueue(SlotWaiter w, long seq) {
        synchronized (lock) {
            w.seq = seq;
            w.prev = tail;
            w.next = null;
            if (tail == null) {
                head = w;
            } else {
                tail.next = w;
            }
            tail = w;
            w.queued = true;
            if (seq == SlotWaiter.UNCLAIMED) {
                unclaimed++;
            }
            waiting++; // a volatile store, before the caller's FREE_WAKE CAS and re-check of its slot
        }
    }

    private void dequeue(SlotWaiter w) {
        synchronized (lock) {
            if (!w.queued) {
                return;
            }
            if (w.prev == null) {
                head = w.next;
            } else {
                w.prev.next = w.next;
            }
            if (w.next == null) {
                tail = w.prev;
            } else {
                w.next.prev = w.prev;
            }
            w.prev = w.next = null;
            w.queued = false;
            if (w.seq == SlotWaiter.UNCLAIMED) {
                unclaimed--;
            }
            waiting--;
        }
    }

    private SlotWaiter firstUnclaimed() {
        synchronized (lock) {
            for (SlotWaiter n = head; n != null; n = n.next) {
                if (n.seq == SlotWaiter.UNCLAIMED) {
                    return n;
                }
            }
            return null;
        }
    }

    private void wakeFirstUnclaimed() {
        if (unclaimed == 0) {
            return;
        }
        SlotWaiter first = firstUnclaimed();
        if (first != null) {
            LockSupport.unpark(first.thread);
        }
    }
}
