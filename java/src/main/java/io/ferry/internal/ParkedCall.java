package io.ferry.internal;

import io.ferry.CallFailedException;
import io.ferry.EngineClosedException;
import io.ferry.FerryException;
import io.ferry.Op;
import java.util.concurrent.locks.LockSupport;

/**
 * A sync caller that stopped spinning and parked. The engine's wake upcall reads the outcome out of the
 * slot into this object, frees the slot, then unparks the caller.
 */
final class ParkedCall {
    private final EngineCore core;
    final Thread thread;
    private final long seq;
    private final Op op;
    private final int kind;
    private Object outcome; // written before `done`, read after it
    volatile boolean done;

    ParkedCall(EngineCore core, Thread thread, long seq, Op op, int kind) {
        this.core = core;
        this.thread = thread;
        this.seq = seq;
        this.op = op;
        this.kind = kind;
    }

    /** On the engine thread, from the wake upcall. */
    void onDone(int idx) {
        Object o;
        try {
            o = core.takeOutcome(idx, this, seq, op, kind);
        } catch (Throwable t) {
            o = new FerryException("internal error while handing over the result of op '" + op.name() + "'", t);
        }
        if (o == null) {
            return; // a late wake meant for an earlier caller of this slot
        }
        outcome = o;
        done = true;
        LockSupport.unpark(thread);
    }

    /** On the caller's thread once {@link #done}: the result, or the failure rethrown with this stack. */
    Object result() {
        Object o = outcome;
        if (o instanceof CallFailedException e) {
            throw new CallFailedException(e.op(), e.code(), e.engineMessage(), e.detail());
        }
        if (o instanceof EngineClosedException e) {
            throw new EngineClosedException(e.getMessage());
        }
        if (o instanceof FerryException e) {
            throw new FerryException(e.getMessage(), e);
        }
        return o;
    }
}
