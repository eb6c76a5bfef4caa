package io.ferry.jcstress;

import static io.ferry.internal.Layout.PHASE_DONE;
import static io.ferry.internal.Layout.PHASE_FREE;
import static io.ferry.internal.Layout.SLOT_ERR;
import static io.ferry.internal.Layout.SLOT_RESULT;
import static io.ferry.jcstress.Regions.CAPACITY;
import static io.ferry.jcstress.Regions.INT;
import static io.ferry.jcstress.Regions.LONG;
import static io.ferry.jcstress.Regions.SEQ;
import static io.ferry.jcstress.Regions.SLOT;
import static io.ferry.jcstress.Regions.state;
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
 * <p>The call seq is DONE with result 1. Caller: the shipped {@code Ring.errPlain}, {@code
 * Ring.resultPlain} (plain loads), then {@code Ring.releaseRelease}, a release store of FREE(seq +
 * capacity) (the C engine frees GONE slots with {@code atomic_store_explicit(release)}, the same mode).
 * Next producer, which claimed seq + capacity: {@code Ring.isFreeAcquire(seq + capacity)}; once it is
 * true the producer owns the slot and writes it with plain stores. Here it writes result and err
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
@Description("Caller: Ring.errPlain/resultPlain, Ring.releaseRelease. Next producer: Ring.isFreeAcquire, then plain stores.")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "Caller read its result; the next producer then took the slot.")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "Next producer saw the slot still DONE (it waits); caller read its result.")
@Outcome(id = {"2, 1", "-1, 1"}, expect = FORBIDDEN, desc = "Caller's load returned the next lap's write: slot reused under a reader.")
@Outcome(expect = FORBIDDEN, desc = "A value nobody writes, or a write by a producer that did not see FREE.")
@State
public class ReleaseThenNextClaim {
    static final long OLD_RESULT = 1, NEW_RESULT = 2;
    static final int NEW_ERR = 5;

    final MemorySegment region = Regions.newRegion();
    final io.ferry.internal.Ring ring = Regions.ring(region);

    public ReleaseThenNextClaim() {
        LONG.set(region, SLOT + SLOT_RESULT, OLD_RESULT);
        INT.set(region, SLOT + SLOT_ERR, 0);
        LONG.set(region, SLOT, state(SEQ, 0, PHASE_DONE));
    }

    @Actor
    public void caller(JJ_Result r) {
        int err = ring.errPlain(SEQ);
        long result = ring.resultPlain(SEQ);
        ring.releaseRelease(SEQ);
        r.r1 = err != 0 ? -1 : result;
    }

    @Actor
    public void nextProducer(JJ_Result r) {
        if (ring.isFreeAcquire(SEQ + CAPACITY)) {
            INT.set(region, SLOT + SLOT_ERR, NEW_ERR);
            LONG.set(region, SLOT + SLOT_RESULT, NEW_RESULT);
            r.r2 = 1;
        } else {
            r.r2 = 0; // not FREE(seq + capacity) yet: the producer would wait (Ring.isFreeAcquire again)
        }
    }
}
