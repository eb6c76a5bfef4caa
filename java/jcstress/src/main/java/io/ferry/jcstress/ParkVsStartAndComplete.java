package io.ferry.jcstress;

import static io.ferry.internal.Layout.CELL_STATE;
import static io.ferry.internal.Layout.E_CONTEXT;
import static io.ferry.internal.Layout.FLAG_PARKED;
import static io.ferry.internal.Layout.PHASE_DONE;
import static io.ferry.internal.Layout.PHASE_PUBLISHED;
import static io.ferry.internal.Layout.STATS_STARTED;
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
 * Park vs start and complete, both sides the shipped code: a caller that registers as PARKED on its
 * completion cell is always woken, whether it parks before the engine starts the call or while it runs.
 *
 * <p>The call is PUBLISHED and not started; the cell still reads its previous call's state (zero), as
 * a spinning caller leaves it. Caller, as {@code CallWait} parks: the shipped {@code
 * Ring.setCellFlagUnlessDone(cell, seq, PARKED)}, a CAS unless the call is DONE (then it takes the outcome
 * and never parks). Engine: libferry's own step ({@code ferry__drain} through {@code ferry_test_step}): it
 * starts the call, frees the slot, runs it (on a test engine it fails with FERRY_E_CONTEXT), writes the
 * outcome into the cell and finishes it with one CAS to DONE(seq) that keeps the flags set for seq; it
 * calls the wake upcall iff they include PARKED ({@link TestEngine#step} counts the upcalls). Both
 * read-modify-writes act on the cell's one word, so exactly one comes first.
 *
 * <p>Result: r1 = 1 if the caller parked, 0 if it saw DONE first; r2 = the wake upcalls the engine's
 * step made (-1 if it did not run the call); r3 (arbiter) = 1 if the final cell state is
 * DONE(seq)|PARKED, 0 if DONE(seq); r4 = 99 if the caller saw DONE and the engine's err, -1 if it parked.
 *
 * <p>FORBIDDEN: r1 = 1, r2 = 0: the caller parked and the engine did not wake it (it sleeps forever);
 * the caller seeing DONE but a stale outcome (the CAS is a release, the caller's load an acquire); a
 * wake for a caller that never parked.
 */
@JCStressTest
@Description("Caller: Ring.setCellFlagUnlessDone(PARKED). Engine: libferry's ferry__drain (start, run, DONE CAS, wake iff PARKED).")
@Outcome(id = "1, 1, 1, -1", expect = ACCEPTABLE, desc = "Caller parked (before or after the start); engine woke it.")
@Outcome(id = "0, 0, 0, 99", expect = ACCEPTABLE, desc = "Engine finished first; caller saw DONE and the outcome, never parked.")
@Outcome(id = "1, 0, .*", expect = FORBIDDEN, desc = "Lost wake-up: caller parked, engine did not wake it.")
@Outcome(id = "0, 0, 0, .*", expect = FORBIDDEN, desc = "Caller saw DONE but a stale outcome.")
@Outcome(expect = FORBIDDEN, desc = "Inconsistent: wake without park, flag lost, or a wrong phase.")
@State
public class ParkVsStartAndComplete {
    final MemorySegment region = Regions.newRegion();
    final MemorySegment cell = Regions.newCell();
    final Ring ring = Regions.ring(region);
    final MemorySegment engine = TestEngine.newEngine(region);

    public ParkVsStartAndComplete() {
        ring.write(SEQ, 0, 0, 7, 0, 0, cell.address(), 0, 0);
        LONG.set(region, STATS_STARTED, SEQ);
        LONG.set(region, SLOT, state(SEQ, 0, PHASE_PUBLISHED));
    }

    @Actor
    public void caller(IIII_Result r) {
        if (Ring.setCellFlagUnlessDone(cell, SEQ, FLAG_PARKED) == Ring.DONE_OR_MOVED) {
            r.r1 = 0;
            r.r4 = Ring.isCellDoneAcquire(cell, SEQ) && Ring.errPlain(cell) == E_CONTEXT ? 99 : -1;
        } else {
            r.r1 = 1;
            r.r4 = -1;
        }
    }

    @Actor
    public void engine(IIII_Result r) {
        long stepped = TestEngine.step(engine, SEQ);
        r.r2 = (stepped >>> 8) != SEQ + 1 ? -1 : (int) (stepped & 0xff);
    }

    @Arbiter
    public void arbiter(IIII_Result r) {
        long st = (long) LONG.getVolatile(cell, CELL_STATE);
        r.r3 = st == state(SEQ, FLAG_PARKED, PHASE_DONE) ? 1 : st == state(SEQ, 0, PHASE_DONE) ? 0 : -1;
        TestEngine.free(Ring.outPtrPlain(cell)); // the caller's part: the error message
    }
}
