package io.ferry.jcstress;

import static io.ferry.internal.Layout.CELL_ERR;
import static io.ferry.internal.Layout.CELL_STATE;
import static io.ferry.internal.Layout.E_CONTEXT;
import static io.ferry.internal.Layout.FLAG_GONE;
import static io.ferry.internal.Layout.PHASE_DONE;
import static io.ferry.internal.Layout.PHASE_FREE;
import static io.ferry.internal.Layout.PHASE_PUBLISHED;
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
 * a GONE call's outcome is never handed to its caller, and the engine always finishes the call on its
 * cell (so a cell given up is known to be free again once it reads DONE).
 *
 * <p>The call is PUBLISHED with a completion cell; {@code stats.started} reads SEQ (the engine started
 * every call before SEQ). Caller, giving the call up as {@code CallWait} does: the shipped {@code
 * Ring.giveUpCellUnlessDone} (a CAS on the cell unless DONE), then {@code Ring.giveUpQueued} (a CAS of
 * GONE on the slot unless the engine took the call), then {@code Ring.startedVolatile()}: a slot GONE and
 * {@code started <= SEQ} means "the engine will skip it", anything else "it may already be running".
 * Engine: libferry's own step ({@code ferry__drain} through {@code ferry_test_step}): {@code
 * ferry__start_gone} (seq_cst store of started, seq_cst re-load of the slot), frees the slot, then skips
 * a GONE call or runs it (on a test engine every call fails with FERRY_E_CONTEXT: the cell's err is the
 * mark that it ran), and finishes it with one CAS on the cell to DONE that keeps the caller's flags.
 *
 * <p>Result: r1 = what the caller did: 0 = saw DONE (takes the outcome), 1 = gave up, told "skipped",
 * 2 = gave up, told "may be running", -1 = anything else; r2 = what the engine did, read by the arbiter
 * from the cell: 0 = skipped (err never written, DONE|GONE), 1 = ran and left the outcome to the caller
 * (DONE, err written), 2 = ran and discarded the outcome (DONE|GONE, err written and then reset to 0 with
 * the message freed), -1 = anything else; r3 = 0 if the
 * slot ends FREE(seq + capacity); r4 = 99 if the caller saw DONE and the engine's err, -1 if it gave up.
 *
 * <p>FORBIDDEN: the engine runs a call whose caller was told it is skipped (r1 = 1 with r2 = 1 or 2);
 * GONE set but not kept by the DONE CAS (r2 = 1 with r1 = 1 or 2: the outcome of a call nobody waits for
 * is left to nobody); the caller taking a skipped or discarded call's outcome, or a stale one; a slot not
 * freed.
 */
@JCStressTest
@Description("Caller: Ring.giveUpCellUnlessDone, giveUpQueued, startedVolatile. Engine: libferry's ferry__drain.")
@Outcome(id = "1, 0, 0, -1", expect = ACCEPTABLE, desc = "Caller gave up first, told skipped; engine skipped the call.")
@Outcome(id = "2, 0, 0, -1", expect = ACCEPTABLE, desc = "Caller gave up as the engine started, told it may be running; engine saw GONE and skipped it.")
@Outcome(id = "2, 2, 0, -1", expect = ACCEPTABLE, desc = "Caller gave up while it ran, told it may be running; engine discarded the outcome.")
@Outcome(id = "0, 1, 0, 99", expect = ACCEPTABLE, desc = "Engine finished first; caller saw DONE and takes the outcome.")
@Outcome(id = {"1, 1, .*", "1, 2, .*"}, expect = FORBIDDEN, desc = "Engine ran a call whose caller was told it would skip it.")
@Outcome(id = "2, 1, .*", expect = FORBIDDEN, desc = "GONE lost by the DONE CAS: an outcome left to a caller that left.")
@Outcome(expect = FORBIDDEN, desc = "Inconsistent: caller took a skipped/discarded call's or a stale outcome, or a wrong final state.")
@State
public class GoneVsEngineRun {
    /** What the cell's err reads until the engine runs the call (a skipped call leaves it). */
    static final int NOT_RUN = 12345;

    final MemorySegment region = Regions.newRegion();
    final MemorySegment cell = Regions.newCell();
    final Ring ring = Regions.ring(region);
    final MemorySegment engine = TestEngine.newEngine(region);

    public GoneVsEngineRun() {
        ring.write(SEQ, 0, 0, 7, 0, 0, cell.address(), 0, 0);
        INT.set(cell, CELL_ERR, NOT_RUN);
        LONG.set(region, STATS_STARTED, SEQ);
        LONG.set(region, SLOT, state(SEQ, 0, PHASE_PUBLISHED));
    }

    @Actor
    public void caller(IIII_Result r) {
        if (Ring.giveUpCellUnlessDone(cell, SEQ) == Ring.DONE_OR_MOVED) {
            // DONE: the engine ran the call; take the outcome.
            long st = Ring.cellStateAcquire(cell);
            r.r1 = st == state(SEQ, 0, PHASE_DONE) ? 0 : -1;
            r.r4 = r.r1 == 0 && Ring.errPlain(cell) == E_CONTEXT ? 99 : -1;
            return;
        }
        boolean queued = ring.giveUpQueued(SEQ);
        long started = ring.startedVolatile();
        boolean sane = started == SEQ || started == SEQ + 1;
        r.r1 = !sane ? -1 : queued && started <= SEQ ? 1 : 2;
        r.r4 = -1;
    }

    @Actor
    public void engine(IIII_Result r) {
        long stepped = TestEngine.step(engine, SEQ);
        r.r2 = (stepped >>> 8) == SEQ + 1 ? 0 : -1; // the arbiter tells skipped / ran / discarded apart
    }

    @Arbiter
    public void arbiter(IIII_Result r) {
        long st = (long) LONG.getVolatile(cell, CELL_STATE);
        int err = (int) INT.get(cell, CELL_ERR);
        if (r.r2 == 0) {
            if (st == state(SEQ, FLAG_GONE, PHASE_DONE)) {
                // Skipped: err untouched. Ran and discarded: the engine freed the message and reset err to
                // 0 (the cell's invariant between calls, ferry.h).
                r.r2 = err == NOT_RUN ? 0 : err == 0 ? 2 : -1;
            } else if (st == state(SEQ, 0, PHASE_DONE) && err == E_CONTEXT) {
                r.r2 = 1;
                TestEngine.free(Ring.outPtrPlain(cell)); // the caller's part: the error message
            } else {
                r.r2 = -1;
            }
        }
        long slot = (long) LONG.getVolatile(region, SLOT);
        r.r3 = slot == state(SEQ + CAPACITY, 0, PHASE_FREE) ? 0 : -1;
    }
}
