package io.ferry.jcstress;

import static io.ferry.internal.Layout.FLAG_PARKED;
import static io.ferry.internal.Layout.PHASE_DONE;
import static io.ferry.internal.Layout.PHASE_MASK;
import static io.ferry.internal.Layout.PHASE_PUBLISHED;
import static io.ferry.internal.Layout.PHASE_RUNNING;
import static io.ferry.jcstress.Ring.LONG;
import static io.ferry.jcstress.Ring.SEQ;
import static io.ferry.jcstress.Ring.SLOT;
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
import org.openjdk.jcstress.infra.results.III_Result;

/**
 * Park vs start and complete: a PARKED flag set while the call is still PUBLISHED survives the engine's
 * PUBLISHED -&gt; RUNNING add and is seen by its RUNNING -&gt; DONE add.
 *
 * <p>Like {@link ParkVsComplete}, but the call starts PUBLISHED and the engine ({@code ferry__run_slot})
 * makes both transitions, each an {@code atomic_fetch_add_explicit(state, 1, acq_rel)} modelled as
 * {@code getAndAdd} (volatile), waking the caller iff the second add's old value had PARKED. The
 * caller's {@code compareAndSet(st, st | PARKED)} may fail against either add and is retried on a fresh
 * {@code getAcquire} unless the phase is DONE.
 *
 * <p>Result: r1 = 1 if the caller parked, 0 if it saw DONE first; r2 = 1 if the engine wakes it, 0 if
 * not, -1 if an add's old value had the wrong phase or the flags changed between the two adds other
 * than by gaining PARKED; r3 (arbiter) = 1 if the final state is DONE(seq)|PARKED, 0 if DONE(seq), -1
 * otherwise.
 *
 * <p>FORBIDDEN: r1 = 1, r2 = 0 (caller parked, nobody wakes it), and every inconsistent outcome.
 */
@JCStressTest
@Description("Caller: CAS(st, st|PARKED) retried unless DONE. Engine: getAndAdd PUBLISHED->RUNNING, getAndAdd RUNNING->DONE.")
@Outcome(id = "1, 1, 1", expect = ACCEPTABLE, desc = "Caller parked (while PUBLISHED or RUNNING); engine wakes it.")
@Outcome(id = "0, 0, 0", expect = ACCEPTABLE, desc = "Engine finished first; caller saw DONE, never parked.")
@Outcome(id = "1, 0, .*", expect = FORBIDDEN, desc = "Lost wake-up: caller parked, engine did not see PARKED.")
@Outcome(expect = FORBIDDEN, desc = "Inconsistent: wake without park, flag lost, or a wrong phase.")
@State
public class ParkVsStartAndComplete {
    final MemorySegment region = Ring.newRegion();

    public ParkVsStartAndComplete() {
        LONG.set(region, SLOT, state(SEQ, 0, PHASE_PUBLISHED));
    }

    @Actor
    public void caller(III_Result r) {
        for (;;) {
            long st = (long) LONG.getAcquire(region, SLOT);
            if ((st & PHASE_MASK) == PHASE_DONE) {
                r.r1 = 0;
                return;
            }
            if ((st & FLAG_PARKED) != 0 || LONG.compareAndSet(region, SLOT, st, st | FLAG_PARKED)) {
                r.r1 = 1;
                return;
            }
        }
    }

    @Actor
    public void engine(III_Result r) {
        long start = (long) LONG.getAndAdd(region, SLOT, PHASE_RUNNING - PHASE_PUBLISHED);
        long done = (long) LONG.getAndAdd(region, SLOT, PHASE_DONE - PHASE_RUNNING);
        boolean ok = (start & ~FLAG_PARKED) == state(SEQ, 0, PHASE_PUBLISHED)
                && (done & ~FLAG_PARKED) == state(SEQ, 0, PHASE_RUNNING)
                && ((start & FLAG_PARKED) == 0 || (done & FLAG_PARKED) != 0);
        r.r2 = !ok ? -1 : (done & FLAG_PARKED) != 0 ? 1 : 0;
    }

    @Arbiter
    public void arbiter(III_Result r) {
        long st = (long) LONG.getVolatile(region, SLOT);
        r.r3 = st == state(SEQ, FLAG_PARKED, PHASE_DONE) ? 1 : st == state(SEQ, 0, PHASE_DONE) ? 0 : -1;
    }
}
