package io.ferry.jcstress;

import static io.ferry.internal.Layout.FLAG_GONE;
import static io.ferry.internal.Layout.PHASE_DONE;
import static io.ferry.internal.Layout.PHASE_MASK;
import static io.ferry.internal.Layout.PHASE_PUBLISHED;
import static io.ferry.jcstress.Regions.LONG;
import static io.ferry.jcstress.Regions.SEQ;
import static io.ferry.jcstress.Regions.SLOT;
import static io.ferry.jcstress.Regions.STARTED;
import static io.ferry.jcstress.Regions.state;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.lang.foreign.MemorySegment;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * NEGATIVE CONTROL (not a check of Ferry; it passes whatever it observes): the engine's start in
 * {@link GoneVsEngineRun} with its seq_cst store of {@code stats.started} and seq_cst load of the slot
 * state weakened to a release store ({@code setRelease}, C11 {@code memory_order_release}) and an
 * acquire load ({@code getAcquire}, {@code memory_order_acquire}). The caller is unchanged: a GONE CAS,
 * then {@code getVolatile} of {@code started}.
 *
 * <p>Release/acquire does not order the store before the later load of another location: the engine's
 * load may miss GONE while its store of {@code started} still sits in its store buffer, and the caller
 * then reads the old {@code started}. The caller is told "the engine will skip it" and the engine runs
 * the call (for a write: "not applied" when it was). Observable on x86 as well as on weaker hardware;
 * graded ACCEPTABLE_INTERESTING. Seeing it shows that {@link GoneVsEngineRun} can fail, i.e. that the
 * seq_cst store and load in {@code ferry__start_gone} are needed. Its absence in a short run is not an
 * error.
 *
 * <p>Result: r1 = 1 if the caller set GONE and read {@code started <= SEQ} (told "skipped"), 2 if it
 * read {@code started > SEQ} (told "may be running"), 0 if it saw DONE; r2 = 1 if the engine ran the
 * call (its start load saw no GONE), 0 if it skipped it.
 */
@JCStressTest
@Description("Negative control: the engine's start (store started, load state) with setRelease/getAcquire; a skipped-told call runs.")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "Caller gave up first, told skipped; engine skipped it.")
@Outcome(id = {"2, 0", "2, 1"}, expect = ACCEPTABLE, desc = "Caller told it may be running; engine skipped or ran it.")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "Engine finished first; caller saw DONE.")
@Outcome(id = "1, 1", expect = ACCEPTABLE_INTERESTING,
        desc = "Told skipped, yet run: as expected without seq_cst; this is why ferry__start_gone uses it.")
@Outcome(expect = FORBIDDEN, desc = "A value neither side writes.")
@State
public class GoneVsStartWithoutFenceNegative {
    final MemorySegment region = Regions.newRegion();

    public GoneVsStartWithoutFenceNegative() {
        LONG.set(region, SLOT, state(SEQ, 0, PHASE_PUBLISHED));
        LONG.set(region, STARTED, SEQ);
    }

    @Actor
    public void caller(II_Result r) {
        for (;;) {
            long st = (long) LONG.getAcquire(region, SLOT);
            if ((st & PHASE_MASK) == PHASE_DONE) {
                r.r1 = 0;
                return;
            }
            if (LONG.compareAndSet(region, SLOT, st, st | FLAG_GONE)) {
                r.r1 = (long) LONG.getVolatile(region, STARTED) <= SEQ ? 1 : 2;
                return;
            }
        }
    }

    @Actor
    public void engine(II_Result r) {
        LONG.setRelease(region, STARTED, SEQ + 1);
        long st = (long) LONG.getAcquire(region, SLOT);
        if ((st & FLAG_GONE) != 0) {
            r.r2 = 0;
            return;
        }
        LONG.getAndAdd(region, SLOT, PHASE_DONE - PHASE_PUBLISHED);
        r.r2 = 1;
    }
}
