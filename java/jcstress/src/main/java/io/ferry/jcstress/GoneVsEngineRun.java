package io.ferry.jcstress;

import static io.ferry.internal.Layout.E_CONTEXT;
import static io.ferry.internal.Layout.FLAG_GONE;
import static io.ferry.internal.Layout.FLAG_PARKED;
import static io.ferry.internal.Layout.PHASE_DONE;
import static io.ferry.internal.Layout.PHASE_FREE;
import static io.ferry.internal.Layout.PHASE_PUBLISHED;
import static io.ferry.internal.Layout.SLOT_ERR;
import static io.ferry.internal.Layout.STATS_STARTED;
import static io.ferry.jcstress.Regions.CAPACITY;
import static io.ferry.jcstress.Regions.INT;
import static io.ferry.jcstress.Regions.LONG;
import static io.ferry.jcstress.Regions.SEQ;
import static io.ferry.jcstress.Regions.SLOT;
import static io.ferry.jcstress.Regions.state;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import io.ferry.internal.Ring;
import java.lang.foreign.MemorySegment;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.IIII_Result;

/**
 * GONE vs engine run, both sides the shipped code: a caller told "the engine will skip it" is never run,
 * a GONE call's outcome is never handed to its caller, and exactly one side frees the slot.
 *
 * <p>The call is PUBLISHED; {@code stats.started} reads SEQ (the engine started every call before SEQ).
 * Caller, giving the call up on timeout or cancel as {@code CallWait} does: the shipped {@code
 * Ring.setFlagUnlessDone(seq, GONE)} (a CAS unless DONE), then {@code Ring.startedVolatile()}:
 * {@code started <= SEQ} means "the engine will skip it", anything larger "it may already be running".
 * Engine: libferry's own step ({@code ferry__drain} through {@code ferry_test_step}): {@code
 * ferry__start_gone} (seq_cst store of started, seq_cst re-load of the state), then it skips a GONE call
 * and frees the slot, or runs it (on a test engine every call fails with FERRY_E_CONTEXT: its err is the
 * mark that it ran) and makes its one add PUBLISHED -&gt; DONE, freeing the slot itself if that add's old
 * value has GONE.
 *
 * <p>Result: r1 = what the caller did: 0 = saw DONE (takes the outcome), 1 = set GONE and read {@code
 * started <= SEQ} (told "skipped"), 2 = set GONE and read {@code started > SEQ} (told "may be running"),
 * -1 = anything else; r2 = what the engine did, read by the arbiter from the slot: 0 = skipped (err never
 * written, slot FREE), 1 = ran and left the outcome to the caller (DONE), 2 = ran and freed the slot
 * itself (err written, slot FREE), -1 = anything else; r3 = the final state: 0 = FREE(seq + capacity),
 * 3 = DONE(seq); r4 = 99 if the caller saw DONE and the engine's err, -1 if it gave up.
 *
 * <p>FORBIDDEN: the engine runs a call whose caller was told it is skipped (r1 = 1 with r2 = 1 or 2);
 * GONE set but not seen by the DONE add (r2 = 1 with r1 = 1 or 2: nobody frees the slot); the caller
 * taking a skipped or freed call's outcome, or a stale one; any other final state.
 */
@JCStressTest
@Description("Caller: Ring.setFlagUnlessDone(GONE), Ring.startedVolatile. Engine: libferry's ferry__drain (start_gone, run, DONE add).")
@Outcome(id = "1, 0, 0, -1", expect = ACCEPTABLE, desc = "Caller gave up first, told skipped; engine skipped the call and freed the slot.")
@Outcome(id = "2, 0, 0, -1", expect = ACCEPTABLE, desc = "Caller gave up as the engine started, told it may be running; engine saw GONE and skipped it.")
@Outcome(id = "2, 2, 0, -1", expect = ACCEPTABLE, desc = "Caller gave up while it ran, told it may be running; engine discarded the outcome and freed the slot.")
@Outcome(id = "0, 1, 3, 99", expect = ACCEPTABLE, desc = "Engine finished first; caller saw DONE and takes the outcome.")
@Outcome(id = {"1, 1, .*", "1, 2, .*"}, expect = FORBIDDEN, desc = "Engine ran a call whose caller was told it would skip it.")
@Outcome(id = "2, 1, .*", expect = FORBIDDEN, desc = "GONE lost by the DONE add: nobody frees the slot.")
@Outcome(expect = FORBIDDEN, desc = "Inconsistent: caller took a skipped/freed call's or a stale outcome, a wrong state or final state.")
@State
public class GoneVsEngineRun {
    /** What the slot's err reads until the engine runs the call (a skipped call leaves it). */
    static final int NOT_RUN = 12345;

    final MemorySegment region = Regions.newRegion();
    final Ring ring = Regions.ring(region);
    final MemorySegment engine = TestEngine.newEngine(region);

    public GoneVsEngineRun() {
        ring.write(SEQ, 0, 0, 7, 0, 0, 0, 0);
        INT.set(region, SLOT + SLOT_ERR, NOT_RUN);
        LONG.set(region, STATS_STARTED, SEQ);
        LONG.set(region, SLOT, state(SEQ, 0, PHASE_PUBLISHED));
    }

    @Actor
    public void caller(IIII_Result r) {
        long st = ring.setFlagUnlessDone(SEQ, FLAG_GONE);
        if (st == Ring.DONE_OR_MOVED) {
            // Not PUBLISHED(SEQ) any more: the engine ran the call and made it DONE; take the outcome.
            r.r1 = ring.isDoneAcquire(SEQ) ? 0 : -1;
            r.r4 = r.r1 == 0 && ring.errPlain(SEQ) == E_CONTEXT ? 99 : -1;
            return;
        }
        long started = ring.startedVolatile();
        boolean sane = st == state(SEQ, 0, PHASE_PUBLISHED) && (started == SEQ || started == SEQ + 1);
        r.r1 = !sane ? -1 : started <= SEQ ? 1 : 2;
        r.r4 = -1;
    }

    @Actor
    public void engine(IIII_Result r) {
        long stepped = TestEngine.step(engine, SEQ);
        r.r2 = (stepped >>> 8) == SEQ + 1 ? 0 : -1; // the arbiter tells skipped / ran / freed apart
    }

    @Arbiter
    public void arbiter(IIII_Result r) {
        long st = (long) LONG.getVolatile(region, SLOT);
        int err = (int) INT.get(region, SLOT + SLOT_ERR);
        if (r.r2 == 0) {
            if (st == state(SEQ + CAPACITY, 0, PHASE_FREE)) {
                r.r2 = err == NOT_RUN ? 0 : err == E_CONTEXT ? 2 : -1;
            } else if (st == state(SEQ, 0, PHASE_DONE) && err == E_CONTEXT) {
                r.r2 = 1;
                TestEngine.free(ring.outPtrPlain(SEQ)); // the caller's part: the error message
            } else {
                r.r2 = -1;
            }
        }
        r.r3 = st == state(SEQ + CAPACITY, 0, PHASE_FREE) ? 0 : st == state(SEQ, 0, PHASE_DONE) ? 3 : -1;
    }
}
