package io.ferry.internal;

import io.ferry.CallInterruptedException;
import io.ferry.EngineClosedException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicReferenceArray;
import java.util.concurrent.locks.LockSupport;

/**
 * Claiming a slot and waiting for it to be free: an untimed call claims with one atomic add and then
 * waits for its slot; a timed call claims only a slot that is already free, so it never waits after
 * its claim.
 */
final class BackPressure {
    private static final VarHandle FREE_WAITERS;
    /** Spinners yield their CPU after this long, so more spinners than cores still make progress. */
    static final long YIELD_AFTER_NS = 5_000;

    static {
        try {
            FREE_WAITERS = MethodHandles.lookup().findVarHandle(BackPressure.class, "freeWaiters", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final EngineCore core;
    private final Ring ring;
    private final long callerSpinNs;
    /** Per slot: producers that claimed a later lap of it and wait for it to be released. */
    private final AtomicReferenceArray<ConcurrentLinkedQueue<FreeWaiter>> queues;
    /** How many producers wait in awaitFree; releasers look here before they look for one to wake. */
    @SuppressWarnings("unused") // accessed through FREE_WAITERS too
    private volatile int freeWaiters;

    BackPressure(EngineCore core, Ring ring, long callerSpinNs) {
        this.core = core;
        this.ring = ring;
        this.callerSpinNs = callerSpinNs;
        this.queues = new AtomicReferenceArray<>(ring.capacity());
    }

    /** One atomic add: the multi-producer claim. Rejects when the tail's CLOSED bit is set. */
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

    /** Claims with {@link #tryClaim()} until the deadline: a timed call never waits after its claim. */
    long claimBefore(long deadline) throws TimeoutException {
        long seq = tryClaim();
        long parkNs = 1_000;
        while (seq < 0) {
            long now = System.nanoTime();
            if (now >= deadline) {
                throw new TimeoutException("engine '" + core.name() + "': no free slot before the deadline; call not sent");
            }
            if (core.abandoned()) {
                throw core.closed();
            }
            if (Thread.currentThread().isInterrupted()) {
                throw new CallInterruptedException("engine '" + core.name() + "': the caller was interrupted while it"
                        + " waited for a free slot; call not sent");
            }
            LockSupport.parkNanos(this, Math.min(parkNs, deadline - now));
            parkNs = Math.min(parkNs * 2, 1_000_000);
            seq = tryClaim();
        }
        return seq;
    }

    /**
     * Waits until the slot's previous caller released it. Spins (yielding once the spin passes
     * {@link #YIELD_AFTER_NS}, so that more spinners than cores still make progress), then parks on the
     * slot's waiter queue; the releaser of the previous lap unparks it.
     */
    void awaitFree(long seq) {
        if (ring.isFreeAcquire(seq)) {
            return;
        }
        long start = System.nanoTime();
        for (int i = 1; ; i++) {
            if (ring.isFreeAcquire(seq)) {
                return;
            }
            if ((i & 63) == 0) {
                long spun = System.nanoTime() - start;
                if (spun >= callerSpinNs) {
                    break;
                }
                if (spun >= YIELD_AFTER_NS) {
                    Thread.yield();
                    continue;
                }
            }
            Thread.onSpinWait();
        }
        int idx = ring.index(seq);
        FreeWaiter waiter = new FreeWaiter(seq, Thread.currentThread());
        ConcurrentLinkedQueue<FreeWaiter> queue = queue(idx);
        queue.add(waiter);
        // A full fence (atomic add) before the re-check below: a releaser that stored FREE before we
        // registered is seen by the re-check; one after it sees the count and unparks us. The
        // releaser's side has no fence (it would cost every call), so a 1 ms park bounds the rare miss.
        FREE_WAITERS.getAndAdd(this, 1);
        // The sequence is claimed: it must be published, so an interrupt cannot end this wait. It is
        // cleared while parked (park returns at once while it is set) and set again once the slot is
        // free; the call is then published and given up by its first wait.
        boolean interrupted = false;
        try {
            while (!ring.isFreeAcquire(seq)) {
                if (core.abandoned()) {
                    throw new EngineClosedException("engine '" + core.name() + "' stopped before a slot became free");
                }
                LockSupport.parkNanos(this, 1_000_000);
                interrupted |= Thread.interrupted();
            }
        } finally {
            FREE_WAITERS.getAndAdd(this, -1);
            queue.remove(waiter);
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private record FreeWaiter(long seq, Thread thread) {
    }

    private ConcurrentLinkedQueue<FreeWaiter> queue(int idx) {
        ConcurrentLinkedQueue<FreeWaiter> q = queues.get(idx);
        if (q == null) {
            queues.compareAndSet(idx, null, new ConcurrentLinkedQueue<>());
            q = queues.get(idx);
        }
        return q;
    }

    /** After the release store of FREE(freedSeq): wakes the producer that claimed freedSeq, if it waits. */
    void onReleased(long freedSeq) {
        if (freeWaiters == 0) {
            return;
        }
        ConcurrentLinkedQueue<FreeWaiter> q = queues.get(ring.index(freedSeq));
        if (q != null) {
            for (FreeWaiter w : q) {
                if (w.seq == freedSeq) {
                    LockSupport.unpark(w.thread);
                }
            }
        }
    }
}
