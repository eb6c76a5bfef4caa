package io.ferry.jcstress;

import static io.ferry.internal.Layout.PHASE_DONE;
import static io.ferry.internal.Layout.PHASE_FREE;
import static io.ferry.internal.Layout.SLOT_ERR;
import static io.ferry.internal.Layout.SLOT_RESULT;
import static io.ferry.jcstress.Ring.CAPACITY;
import static io.ferry.jcstress.Ring.INT;
import static io.ferry.jcstress.Ring.LONG;
import static io.ferry.jcstress.Ring.SEQ;
import static io.ferry.jcstress.Ring.SLOT;
import static io.ferry.jcstress.Ring.state;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.lang.foreign.MemorySegment;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJ_Result;

/**
 * Release / next claim: a slot handed to the next lap is not overwritten before its caller has read it.
 *
 * <p>The call seq is DONE with result 1. Caller ({@code EngineCore.takeLong} then {@code release}):
 * plain loads of err and result, then {@code setRelease} of FREE(seq + capacity) (the C engine frees
 * GONE slots with {@code atomic_store_explicit(release)}, the same mode). Next producer, which claimed
 * seq + capacity ({@code EngineCore.awaitFree}): {@code getAcquire} of the state; once it reads
 * FREE(seq + capacity) it owns the slot and writes it with plain stores. Here it writes result and err
 * directly: they stand for every later write to the slot in that lap (its own plain stores and,
 * ordered after them by its volatile publish and the engine's acquire, the engine's). A release orders
 * the loads before it as well as the stores (LoadStore), so no write after the acquire can be what the
 * caller's earlier loads return.
 *
 * <p>Result: r1 = the result the caller read (err folded in: -1 if err was not 0); r2 = 1 if the next
 * producer saw FREE(seq + capacity) and wrote 2 / err 5, 0 if it saw the slot still DONE.
 *
 * <p>FORBIDDEN: r1 = 2 (or -1) with r2 = 1: the caller read the next lap's data as its own result.
 */
@JCStressTest
@Description("Caller: plain loads of result/err, setRelease(FREE(seq+cap)). Next producer: getAcquire, sees FREE, plain stores.")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "Caller read its result; the next producer then took the slot.")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "Next producer saw the slot still DONE (it waits); caller read its result.")
@Outcome(id = {"2, 1", "-1, 1"}, expect = FORBIDDEN, desc = "Caller's load returned the next lap's write: slot reused under a reader.")
@Outcome(expect = FORBIDDEN, desc = "A value nobody writes, or a write by a producer that did not see FREE.")
@State
public class ReleaseThenNextClaim {
    static final long OLD_RESULT = 1, NEW_RESULT = 2;
    static final int NEW_ERR = 5;

    final MemorySegment region = Ring.newRegion();

    public ReleaseThenNextClaim() {
        LONG.set(region, SLOT + SLOT_RESULT, OLD_RESULT);
        INT.set(region, SLOT + SLOT_ERR, 0);
        LONG.set(region, SLOT, state(SEQ, 0, PHASE_DONE));
    }

    @Actor
    public void caller(JJ_Result r) {
        int err = (int) INT.get(region, SLOT + SLOT_ERR);
        long result = (long) LONG.get(region, SLOT + SLOT_RESULT);
        LONG.setRelease(region, SLOT, state(SEQ + CAPACITY, 0, PHASE_FREE));
        r.r1 = err != 0 ? -1 : result;
    }

    @Actor
    public void nextProducer(JJ_Result r) {
        long st = (long) LONG.getAcquire(region, SLOT);
        if (st == state(SEQ + CAPACITY, 0, PHASE_FREE)) {
            INT.set(region, SLOT + SLOT_ERR, NEW_ERR);
            LONG.set(region, SLOT + SLOT_RESULT, NEW_RESULT);
            r.r2 = 1;
        } else {
            r.r2 = st == state(SEQ, 0, PHASE_DONE) ? 0 : -1;
        }
    }
}
