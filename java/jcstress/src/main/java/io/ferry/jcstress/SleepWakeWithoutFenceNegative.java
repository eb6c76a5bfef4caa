package io.ferry.jcstress;

import static io.ferry.internal.Layout.ENGINE_SLEEPING;
import static io.ferry.internal.Layout.PHASE_FREE;
import static io.ferry.internal.Layout.PHASE_PUBLISHED;
import static io.ferry.jcstress.Regions.INT;
import static io.ferry.jcstress.Regions.LONG;
import static io.ferry.jcstress.Regions.SEQ;
import static io.ferry.jcstress.Regions.SLOT;
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
 * NEGATIVE CONTROL (not a check of Ferry; it passes whatever it observes): {@link SleepWakeDekker} with
 * the seq_cst / volatile accesses weakened to release stores ({@code setRelease}, C11
 * {@code memory_order_release}) and acquire loads ({@code getAcquire}, {@code memory_order_acquire}).
 *
 * <p>Release/acquire does not order a store before a later load of another location, so both sides may
 * read the other's word before their own store is visible: the lost wake-up (0, 0) becomes possible. It
 * is observable on x86 (the store buffer delays each store past the following load) as well as on
 * weaker hardware. Its outcome is graded ACCEPTABLE_INTERESTING: seeing it shows that the Dekker test
 * can fail, i.e. that the seq_cst accesses in ferry.h and the volatile ones in EngineCore are needed.
 * Its absence in a short run is not an error.
 *
 * <p>Result: as in {@link SleepWakeDekker}: r1 = sleeping as read by the producer, r2 = 1 if the engine
 * saw the slot PUBLISHED.
 */
@JCStressTest
@Description("Negative control: the sleep/wake Dekker pair with setRelease/getAcquire only; the lost wake-up shows.")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "Engine saw the call before sleeping.")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "Producer saw the engine asleep and wakes it.")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "Both saw each other.")
@Outcome(id = "0, 0", expect = ACCEPTABLE_INTERESTING,
        desc = "Lost wake-up, as expected without seq_cst: this is why Ferry uses volatile/seq_cst here.")
@Outcome(expect = FORBIDDEN, desc = "A value neither side writes.")
@State
public class SleepWakeWithoutFenceNegative {
    final MemorySegment region = Regions.newRegion();

    public SleepWakeWithoutFenceNegative() {
        LONG.set(region, SLOT, state(SEQ, 0, PHASE_FREE));
    }

    @Actor
    public void producer(II_Result r) {
        LONG.setRelease(region, SLOT, state(SEQ, 0, PHASE_PUBLISHED));
        r.r1 = (int) INT.getAcquire(region, ENGINE_SLEEPING);
    }

    @Actor
    public void engine(II_Result r) {
        INT.setRelease(region, ENGINE_SLEEPING, 1);
        long st = (long) LONG.getAcquire(region, SLOT);
        r.r2 = st == state(SEQ, 0, PHASE_PUBLISHED) ? 1 : st == state(SEQ, 0, PHASE_FREE) ? 0 : -1;
    }
}
