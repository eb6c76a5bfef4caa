package io.ferry.jcstress;

import static io.ferry.internal.Layout.FLAG_GONE;
import static io.ferry.internal.Layout.PHASE_DONE;
import static io.ferry.internal.Layout.PHASE_FREE;
import static io.ferry.internal.Layout.PHASE_MASK;
import static io.ferry.internal.Layout.PHASE_PUBLISHED;
import static io.ferry.internal.Layout.PHASE_RUNNING;
import static io.ferry.internal.Layout.SLOT_RESULT;
import static io.ferry.jcstress.Ring.CAPACITY;
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
 * GONE vs engine start: a caller that gives up on a call the engine has not started is never run, and
 * exactly one side frees the slot.
 *
 * <p>The call is PUBLISHED. Caller ({@code EngineCore.abandon}, on timeout or cancel): {@code
 * getAcquire} of the state; if DONE it takes the result; otherwise {@code compareAndSet(st, st | GONE)},
 * retried on failure. Engine ({@code ferry__run_slot}): {@code atomic_fetch_add_explicit(state, 1,
 * acq_rel)} PUBLISHED -&gt; RUNNING, modelled as {@code getAndAdd}; if the old value has GONE it skips
 * the call and frees the slot ({@code atomic_store_explicit(FREE(seq + capacity), release)}, modelled as
 * {@code setRelease}); otherwise it runs it (plain store of the result), adds 1 again (RUNNING -&gt;
 * DONE) and, if that old value has GONE, discards the result and frees the slot itself.
 *
 * <p>Result: r1 = what the caller did: 0 = saw DONE (takes the result and frees the slot), 1 = set GONE
 * on PUBLISHED (told "the engine will skip it"), 2 = set GONE on RUNNING (told "its result will be
 * discarded"), -1 = set GONE on another state; r2 = what the engine did: 0 = skipped, 1 = ran and left
 * the result to the caller, 2 = ran and freed the slot, -1 = an add's old value had a wrong phase; r3
 * (arbiter) = the final state: 0 = FREE(seq + capacity), 3 = DONE(seq), -1 = anything else.
 *
 * <p>FORBIDDEN: the caller's GONE CAS succeeded on PUBLISHED yet the engine's old value had no GONE
 * (r1 = 1 with r2 = 1 or 2: the engine runs a call the caller thinks was skipped); GONE set on RUNNING
 * but not seen by the DONE add (r1 = 2, r2 = 1: nobody frees the slot, the ring stalls a lap later);
 * the caller taking the result of a call the engine skipped or freed (r1 = 0, r2 = 0 or 2); and any
 * final state other than the one the acceptable outcomes give.
 */
@JCStressTest
@Description("Caller: CAS(st, st|GONE) retried unless DONE. Engine: getAndAdd PUBLISHED->RUNNING, skip iff GONE, else run, getAndAdd ->DONE.")
@Outcome(id = "1, 0, 0", expect = ACCEPTABLE, desc = "Caller gave up first; engine skipped the call and freed the slot.")
@Outcome(id = "2, 2, 0", expect = ACCEPTABLE, desc = "Caller gave up while it ran; engine discarded the result and freed the slot.")
@Outcome(id = "0, 1, 3", expect = ACCEPTABLE, desc = "Engine finished first; caller saw DONE and takes the result.")
@Outcome(id = {"1, 1, .*", "1, 2, .*"}, expect = FORBIDDEN, desc = "Engine ran a call whose caller was told it was skipped.")
@Outcome(id = "2, 1, .*", expect = FORBIDDEN, desc = "GONE lost by the DONE add: nobody frees the slot.")
@Outcome(expect = FORBIDDEN, desc = "Inconsistent: caller took a skipped/freed call's result, a wrong phase or final state.")
@State
public class GoneVsEngineRun {
    final MemorySegment region = Ring.newRegion();

    public GoneVsEngineRun() {
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
            if (LONG.compareAndSet(region, SLOT, st, st | FLAG_GONE)) {
                long phase = st & PHASE_MASK;
                r.r1 = phase == PHASE_PUBLISHED || phase == PHASE_RUNNING ? (int) phase : -1;
                return;
            }
        }
    }

    @Actor
    public void engine(III_Result r) {
        long old = (long) LONG.getAndAdd(region, SLOT, PHASE_RUNNING - PHASE_PUBLISHED);
        if ((old & ~FLAG_GONE) != state(SEQ, 0, PHASE_PUBLISHED)) {
            r.r2 = -1;
            return;
        }
        if ((old & FLAG_GONE) != 0) {
            LONG.setRelease(region, SLOT, state(SEQ + CAPACITY, 0, PHASE_FREE));
            r.r2 = 0;
            return;
        }
        LONG.set(region, SLOT + SLOT_RESULT, 99L);
        old = (long) LONG.getAndAdd(region, SLOT, PHASE_DONE - PHASE_RUNNING);
        if ((old & ~FLAG_GONE) != state(SEQ, 0, PHASE_RUNNING)) {
            r.r2 = -1;
        } else if ((old & FLAG_GONE) != 0) {
            LONG.setRelease(region, SLOT, state(SEQ + CAPACITY, 0, PHASE_FREE));
            r.r2 = 2;
        } else {
            r.r2 = 1;
        }
    }

    @Arbiter
    public void arbiter(III_Result r) {
        long st = (long) LONG.getVolatile(region, SLOT);
        r.r3 = st == state(SEQ + CAPACITY, 0, PHASE_FREE) ? 0 : st == state(SEQ, 0, PHASE_DONE) ? 3 : -1;
    }
}
