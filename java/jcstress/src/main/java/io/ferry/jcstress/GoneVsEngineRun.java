package io.ferry.jcstress;

import static io.ferry.internal.Layout.FLAG_GONE;
import static io.ferry.internal.Layout.PHASE_DONE;
import static io.ferry.internal.Layout.PHASE_FREE;
import static io.ferry.internal.Layout.PHASE_MASK;
import static io.ferry.internal.Layout.PHASE_PUBLISHED;
import static io.ferry.internal.Layout.SLOT_RESULT;
import static io.ferry.jcstress.Ring.CAPACITY;
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
 * GONE vs engine start: a caller told "the engine will skip it" is never run, a GONE call's result is
 * never handed to its caller, and exactly one side frees the slot.
 *
 * <p>The call is PUBLISHED; {@code stats.started} reads SEQ (the engine started every call before
 * SEQ). Caller ({@code EngineCore.abandon}, on timeout or cancel): {@code getAcquire} of the state; if
 * DONE it takes the result; otherwise {@code compareAndSet(st, st | GONE)} (a full fence), retried on
 * failure, then {@code getVolatile} of {@code stats.started}: {@code started <= SEQ} means "the engine
 * will skip it", anything larger "it may already be running". Engine ({@code ferry__start_gone} and
 * {@code ferry__run_slot}): {@code atomic_store_explicit(started, SEQ + 1, seq_cst)} then {@code
 * atomic_load_explicit(state, seq_cst)}, modelled as {@code setVolatile} / {@code getVolatile}; if the
 * state has GONE it skips the call and frees the slot ({@code atomic_store_explicit(FREE(seq +
 * capacity), release)}, modelled as {@code setRelease}); otherwise it runs it (plain store of the
 * result) and makes its one add, {@code atomic_fetch_add_explicit(state, 2, acq_rel)} PUBLISHED -&gt;
 * DONE, modelled as {@code getAndAdd}; if that old value has GONE, it discards the result and frees
 * the slot itself.
 *
 * <p>The caller's CAS and read of {@code started} and the engine's store of {@code started} and load
 * of the state form a Dekker pair: at least one side sees the other's store, so a caller that read
 * {@code started <= SEQ} set GONE before the engine's load, which sees it.
 *
 * <p>Result: r1 = what the caller did: 0 = saw DONE (takes the result and frees the slot), 1 = set GONE
 * and read {@code started <= SEQ} (told "the engine will skip it"), 2 = set GONE and read {@code
 * started > SEQ} (told "it may be running; its result will be discarded"), -1 = set GONE on a state
 * other than PUBLISHED(SEQ) or read a {@code started} nobody wrote; r2 = what the engine did: 0 =
 * skipped, 1 = ran and left the result to the caller, 2 = ran and freed the slot, -1 = it loaded or
 * replaced a wrong state; r3 (arbiter) = the final state: 0 = FREE(seq + capacity), 3 = DONE(seq), -1 =
 * anything else; r4 = the result the caller took when it saw DONE (the engine writes 99), -1 if it gave
 * up.
 *
 * <p>FORBIDDEN: the engine runs a call whose caller was told it is skipped (r1 = 1 with r2 = 1 or 2:
 * for a write, "not applied" when it was); GONE set but not seen by the DONE add (r2 = 1 with r1 = 1 or
 * 2: nobody frees the slot and the ring stalls a lap later, and a GONE call's result is left to be
 * taken); the caller taking the result of a call the engine skipped or freed (r1 = 0, r2 = 0 or 2) or a
 * stale result (r4 != 99); and any final state other than the one the acceptable outcomes give.
 */
@JCStressTest
@Description("Caller: CAS(st, st|GONE) unless DONE, then getVolatile(started). Engine: setVolatile(started), getVolatile(state), skip iff GONE, else run, getAndAdd PUBLISHED->DONE.")
@Outcome(id = "1, 0, 0, -1", expect = ACCEPTABLE, desc = "Caller gave up first, told skipped; engine skipped the call and freed the slot.")
@Outcome(id = "2, 0, 0, -1", expect = ACCEPTABLE, desc = "Caller gave up as the engine started, told it may be running; engine saw GONE and skipped it.")
@Outcome(id = "2, 2, 0, -1", expect = ACCEPTABLE, desc = "Caller gave up while it ran, told it may be running; engine discarded the result and freed the slot.")
@Outcome(id = "0, 1, 3, 99", expect = ACCEPTABLE, desc = "Engine finished first; caller saw DONE and takes the result.")
@Outcome(id = {"1, 1, .*", "1, 2, .*"}, expect = FORBIDDEN, desc = "Engine ran a call whose caller was told it would skip it.")
@Outcome(id = "2, 1, .*", expect = FORBIDDEN, desc = "GONE lost by the DONE add: nobody frees the slot.")
@Outcome(expect = FORBIDDEN, desc = "Inconsistent: caller took a skipped/freed call's or a stale result, a wrong state or final state.")
@State
public class GoneVsEngineRun {
    static final long RESULT = 99;

    final MemorySegment region = Ring.newRegion();

    public GoneVsEngineRun() {
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
            if (LONG.compareAndSet(region, SLOT, st, st | FLAG_GONE)) {
                long started = (long) LONG.getVolatile(region, STARTED);
                boolean sane = st == state(SEQ, 0, PHASE_PUBLISHED) && (started == SEQ || started == SEQ + 1);
                r.r1 = !sane ? -1 : started <= SEQ ? 1 : 2;
                r.r4 = -1;
                return;
            }
        }
    }

    @Actor
    public void engine(IIII_Result r) {
        LONG.setVolatile(region, STARTED, SEQ + 1);
        long st = (long) LONG.getVolatile(region, SLOT);
        if ((st & ~FLAG_GONE) != state(SEQ, 0, PHASE_PUBLISHED)) {
            r.r2 = -1;
            return;
        }
        if ((st & FLAG_GONE) != 0) {
            LONG.setRelease(region, SLOT, state(SEQ + CAPACITY, 0, PHASE_FREE));
            r.r2 = 0;
            return;
        }
        LONG.set(region, SLOT + SLOT_RESULT, RESULT);
        long old = (long) LONG.getAndAdd(region, SLOT, PHASE_DONE - PHASE_PUBLISHED);
        if ((old & ~FLAG_GONE) != state(SEQ, 0, PHASE_PUBLISHED)) {
            r.r2 = -1;
        } else if ((old & FLAG_GONE) != 0) {
            LONG.setRelease(region, SLOT, state(SEQ + CAPACITY, 0, PHASE_FREE));
            r.r2 = 2;
        } else {
            r.r2 = 1;
        }
    }

    @Arbiter
    public void arbiter(IIII_Result r) {
        long st = (long) LONG.getVolatile(region, SLOT);
        r.r3 = st == state(SEQ + CAPACITY, 0, PHASE_FREE) ? 0 : st == state(SEQ, 0, PHASE_DONE) ? 3 : -1;
    }
}
