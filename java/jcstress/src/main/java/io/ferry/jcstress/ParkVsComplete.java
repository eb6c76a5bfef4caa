package io.ferry.jcstress;

import static io.ferry.internal.Layout.FLAG_PARKED;
import static io.ferry.internal.Layout.PHASE_DONE;
import static io.ferry.internal.Layout.PHASE_MASK;
import static io.ferry.internal.Layout.PHASE_PUBLISHED;
import static io.ferry.internal.Layout.SLOT_RESULT;
import static io.ferry.jcstress.Ring.LONG;
import static io.ferry.jcstress.Ring.SEQ;
import static io.ferry.jcstress.Ring.SLOT;
import static io.ferry.jcstress.Ring.STARTED;
import static io.ferry.jcstress.Ring.state;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.lang.foreign.MemorySegment;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJJJ_Result;

/**
 * Park vs complete: a caller that registers as PARKED is always woken.
 *
 * <p>The engine has started the call ({@code stats.started} = SEQ + 1, and it saw no GONE); its phase
 * is still PUBLISHED, since the engine no longer marks a running call. Caller ({@code EngineCore.park}):
 * {@code getAcquire} of the state; if DONE it takes the result without parking; otherwise {@code
 * compareAndSet(st, st | PARKED)}, retried on failure, and parks once it succeeds. Engine (end of
 * {@code ferry__run_slot}): plain store of the result, then its one add, {@code
 * atomic_fetch_add_explicit(state, 2, acq_rel)} PUBLISHED -&gt; DONE, modelled as {@code getAndAdd}
 * (volatile); it calls the wake callback iff the old value had PARKED. The add keeps the flag bits, and
 * both read-modify-writes act on one word, so exactly one comes first.
 *
 * <p>Result: r1 = 1 if the caller parked (its CAS succeeded), 0 if it saw DONE first; r2 = 1 if the
 * engine saw PARKED and wakes the caller, 0 if not, -1 if its old value was not PUBLISHED(seq); r3
 * (arbiter) = 1 if the final state is DONE(seq)|PARKED, 0 if DONE(seq), -1 otherwise; r4 = the result
 * the caller read when it saw DONE (the engine writes 99), or -1 if it parked (it reads after waking).
 *
 * <p>FORBIDDEN: r1 = 1, r2 = 0: the caller parked and the engine did not see PARKED, so nobody wakes
 * the caller (it sleeps forever). Also forbidden: the caller saw DONE but not the result (the add is a
 * release, the caller's load an acquire), or the engine waking a caller that never parked (would mean
 * the two read-modify-writes were not atomic).
 */
@JCStressTest
@Description("Caller: getAcquire, CAS(st, st|PARKED) retried unless DONE. Engine (call started): getAndAdd PUBLISHED->DONE, wake iff old had PARKED.")
@Outcome(id = "1, 1, 1, -1", expect = ACCEPTABLE, desc = "Caller parked first; engine saw PARKED and wakes it.")
@Outcome(id = "0, 0, 0, 99", expect = ACCEPTABLE, desc = "Engine finished first; caller saw DONE and the result, never parked.")
@Outcome(id = "1, 0, .*", expect = FORBIDDEN, desc = "Lost wake-up: caller parked, engine did not see PARKED.")
@Outcome(id = "0, 0, 0, .*", expect = FORBIDDEN, desc = "Caller saw DONE but a stale result.")
@Outcome(expect = FORBIDDEN, desc = "Inconsistent: wake without park, flag lost, or a wrong phase.")
@State
public class ParkVsComplete {
    static final long RESULT = 99;

    final MemorySegment region = Ring.newRegion();

    public ParkVsComplete() {
        LONG.set(region, SLOT, state(SEQ, 0, PHASE_PUBLISHED));
        LONG.set(region, STARTED, SEQ + 1);
    }

    @Actor
    public void caller(JJJJ_Result r) {
        for (;;) {
            long st = (long) LONG.getAcquire(region, SLOT);
            if ((st & PHASE_MASK) == PHASE_DONE) {
                r.r1 = 0;
                r.r4 = (long) LONG.get(region, SLOT + SLOT_RESULT);
                return;
            }
            if ((st & FLAG_PARKED) != 0 || LONG.compareAndSet(region, SLOT, st, st | FLAG_PARKED)) {
                r.r1 = 1;
                r.r4 = -1;
                return;
            }
        }
    }

    @Actor
    public void engine(JJJJ_Result r) {
        LONG.set(region, SLOT + SLOT_RESULT, RESULT);
        long old = (long) LONG.getAndAdd(region, SLOT, PHASE_DONE - PHASE_PUBLISHED);
        if ((old & ~FLAG_PARKED) != state(SEQ, 0, PHASE_PUBLISHED)) {
            r.r2 = -1;
        } else {
            r.r2 = (old & FLAG_PARKED) != 0 ? 1 : 0;
        }
    }

    @Arbiter
    public void arbiter(JJJJ_Result r) {
        long st = (long) LONG.getVolatile(region, SLOT);
        r.r3 = st == state(SEQ, FLAG_PARKED, PHASE_DONE) ? 1 : st == state(SEQ, 0, PHASE_DONE) ? 0 : -1;
    }
}
