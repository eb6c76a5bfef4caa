package io.ferry.internal;

import io.ferry.CallFailedException;
import io.ferry.EngineClosedException;
import io.ferry.FerryException;
import io.ferry.Op;

/**
 * A sync caller that stopped spinning and parked. The engine's wake upcall reads the outcome out of the
 * slot into this object (a 64-bit result as a primitive, so nothing is boxed), frees the slot, then
 * unparks the caller.
 *
 * <p>Each thread reuses one instance for all its parked calls, so a call that parks allocates nothing.
 * That is safe because a thread waits on one call at a time, and the engine touches the instance only
 * between the caller's CAS of PARKED and the caller seeing {@link #done}: the engine makes exactly one
 * wake upcall per PARKED call, and none for a call its caller gave up (GONE). A caller that leaves
 * without its outcome for any other reason (the engine was abandoned) {@link #discard discards} the
 * instance, since a late upcall might still write into it.
 */
final class ParkedCall {
    private static final ThreadLocal<ParkedCall> CACHE = new ThreadLocal<>();

    final Thread thread;
    /** Written by the caller before it publishes this instance in EngineCore's waiters array. */
    long seq;
    Op op;
    int kind;
    /** The outcome: a 64-bit result, or else the bytes/string result or the failure in {@link #outcome}. */
    long value;
    Object outcome;
    /** Set by {@link #discard}: the instance left the cache. */
    private boolean discarded;
    /** Written (release) by the engine's upcall after the outcome; read (acquire) by the caller. */
    volatile boolean done;
    /** Set by close() when it gave this call up: no upcall will come, and the region may be freed. */
    volatile boolean cancelledByClose;

    private ParkedCall(Thread thread) {
        this.thread = thread;
    }

    /** This thread's instance, set up for the call at seq. */
    static ParkedCall forCall(long seq, Op op, int kind) {
        ParkedCall p = CACHE.get();
        if (p == null) {
            p = new ParkedCall(Thread.currentThread());
            CACHE.set(p);
        }
        p.seq = seq;
        p.op = op;
        p.kind = kind;
        p.value = 0;
        p.outcome = null;
        p.done = false;
        p.cancelledByClose = false;
        return p;
    }

    /**
     * Forgets the call once the caller is done with it: a thread's cached instance must not keep an
     * engine (through its Op) reachable, or the Cleaner could never close an engine nobody closed.
     */
    void clear() {
        if (discarded) {
            return; // no longer cached; a late upcall may still read it
        }
        op = null;
        outcome = null;
    }

    /** Never hand this instance out again: an upcall may still reach it. */
    void discard() {
        discarded = true;
        if (CACHE.get() == this) {
            CACHE.remove();
        }
    }

    /** On the caller's thread once {@link #done}: the 64-bit result, or the failure rethrown with this stack. */
    long longResult() {
        if (outcome != null) {
            throw rethrow(outcome);
        }
        return value;
    }

    /** On the caller's thread once {@link #done}: the bytes or string result, or the failure rethrown. */
    Object objectResult() {
        Object o = outcome;
        if (o instanceof FerryException) {
            throw rethrow(o);
        }
        outcome = null; // the instance is reused: do not keep the result reachable
        return o;
    }

    private RuntimeException rethrow(Object o) {
        outcome = null;
        if (o instanceof CallFailedException e) {
            return new CallFailedException(e.op(), e.code(), e.engineMessage(), e.detail(), e.output());
        }
        if (o instanceof EngineClosedException e) {
            return new EngineClosedException(e.getMessage());
        }
        if (o instanceof FerryException e) {
            return new FerryException(e.getMessage(), e);
        }
        return new IllegalStateException("unexpected outcome " + o);
    }
}
