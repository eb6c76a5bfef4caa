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
import org.openjdk.jcstress.infra.results.IIII_Result;

/**
 * Park vs start and complete: a PARKED flag set while the call is still PUBLISHED, before or after the
 * engine started it, is seen by the engine's one PUBLISHED -&gt; DONE add, so a parked caller is always
 * woken.
 *
 * <p>Like {@link ParkVsComplete}, but the engine has not started the call yet ({@code stats.started}
 * reads SEQ) and plays all of {@code ferry__run_slot}: {@code atomic_store_explicit(started, SEQ + 1,
 * seq_cst)} and {@code atomic_load_explicit(state, seq_cst)} ({@code ferry__start_gone}), modelled as
 * {@code setVolatile} / {@code getVolatile}, which may or may not see PARKED and must not act on it;
 * then a plain store of the result and its one add, {@code atomic_fetch_add_explicit(state, 2,
 * acq_rel)}, modelled as {@code getAndAdd} (volatile), waking the caller iff that add's old value had
 * PARKED. The caller's {@code compareAndSet(st, st | PARKED)} may fail against the add and is retried
 * on a fresh {@code getAcquire} unless the phase is DONE.
 *
 * <p>Result: r1 = 1 if the caller parked, 0 if it saw DONE first; r2 = 1 if the engine wakes it, 0 if
 * not, -1 if its start load or its add's old value was not PUBLISHED(seq) apart from PARKED, or PARKED
 * seen at the start was missing from the add's old value; r3 (arbiter) = 1 if the final state is
 * DONE(seq)|PARKED, 0 if DONE(seq), -1 otherwise; r4 = the result the caller read when it saw DONE (the
 * engine writes 99), -1 if it parked.
 *
 * <p>FORBIDDEN: r1 = 1, r2 = 0 (caller parked, nobody wakes it), a caller that saw DONE with a stale
 * result, and every inconsistent outcome.
 */
@JCStressTest
@Description("Caller: CAS(st, st|PARKED) retried unless DONE. Engine: setVolatile(started), getVolatile(state), run, getAndAdd PUBLISHED->DONE.")
@Outcome(id = "1, 1, 1, -1", expect = ACCEPTABLE, desc = "Caller parked (before or after the start); engine wakes it.")
@Outcome(id = "0, 0, 0, 99", expect = ACCEPTABLE, desc = "Engine finished first; caller saw DONE and the result, never parked.")
@Outcome(id = "1, 0, .*", expect = FORBIDDEN, desc = "Lost wake-up: caller parked, engine did not see PARKED.")
@Outcome(id = "0, 0, 0, .*", expect = FORBIDDEN, desc = "Caller saw DONE but a stale result.")
@Outcome(expect = FORBIDDEN, desc = "Inconsistent: wake without park, flag lost, or a wrong phase.")
@State
public class ParkVsStartAndComplete {
    static final long RESULT = 99;

    final MemorySegment region = Ring.newRegion();

    public ParkVsStartAndComplete() {
        LONG.set(region, SLOT, state(SEQ, 0, PHASE_PUBLISHED));
        LONG.set(region, STARTED, SEQ);
    }

    @Actor
    public void caller(IIII_Result r) {
        for (;;) {
            long st = (long) LONG.getAcquire(region, SLOT);
            if ((st & PHASE_MASK) == PHASE_DONE) {
                r.r1 = 0;
                r.r4 = (int) (long) LONG.get(region, SLOT + SLOT_RESULT);
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
    public void engine(IIII_Result r) {
        LONG.setVolatile(region, STARTED, SEQ + 1);
        long start = (long) LONG.getVolatile(region, SLOT);
        LONG.set(region, SLOT + SLOT_RESULT, RESULT);
        long done = (long) LONG.getAndAdd(region, SLOT, PHASE_DONE - PHASE_PUBLISHED);
        boolean ok = (start & ~FLAG_PARKED) == state(SEQ, 0, PHASE_PUBLISHED)
                && (done & ~FLAG_PARKED) == state(SEQ, 0, PHASE_PUBLISHED)
                && ((start & FLAG_PARKED) == 0 || (done & FLAG_PARKED) != 0);
        r.r2 = !ok ? -1 : (done & FLAG_PARKED) != 0 ? 1 : 0;
    }

    @Arbiter
    public void arbiter(IIII_Result r) {
        long st = (long) LONG.getVolatile(region, SLOT);
        r.r3 = st == state(SEQ, FLAG_PARKED, PHASE_DONE) ? 1 : st == state(SEQ, 0, PHASE_DONE) ? 0 : -1;
    }
}
