package io.ferry.jcstress;

import static io.ferry.internal.Layout.ENGINE_SLEEPING;
import static io.ferry.jcstress.Regions.INT;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE_INTERESTING;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.lang.foreign.MemorySegment;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * NEGATIVE CONTROL (not a check of Ferry; it passes whatever it observes): {@link StopVsSleep} with the
 * engine's half replaced by {@code ferry_test_sleep_announce_without_fence}: a relaxed store of
 * {@code sleeping} then relaxed loads, nothing between. The stopper is the real {@code ferry_engine_stop}.
 *
 * <p>Without a StoreLoad barrier the engine's loads may run while its store of sleeping still waits in
 * the store buffer (x86 does this): it reads no stop, while the stopper's exchange reads sleeping = 0
 * and wakes nobody. The lost stop (1, 1) becomes possible; run.sh requires this test to show it, so
 * that {@link StopVsSleep} is known to be able to fail.
 *
 * <p>Result: as in {@link StopVsSleep}.
 */
@JCStressTest
@Description("Negative control: stop versus sleep with the engine's accesses relaxed; the lost stop shows.")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "Engine saw the stop; the stopper's exchange cleared sleeping too.")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "Engine saw the stop; the stopper had exchanged before it announced.")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "Engine sleeps; the stopper saw it asleep and woke it.")
@Outcome(id = "1, 1", expect = ACCEPTABLE_INTERESTING,
        desc = "Lost stop, as expected without seq_cst: this is why ferry__sleep_announce uses seq_cst.")
@Outcome(expect = FORBIDDEN, desc = "A value neither side writes.")
@State
public class StopVsSleepWithoutFenceNegative {
    final MemorySegment region = Regions.newRegion();
    final MemorySegment engine = TestEngine.newEngine(region);

    @Actor
    public void engine(II_Result r) {
        r.r1 = TestEngine.sleepAnnounceWithoutFence(engine, 0);
    }

    @Actor
    public void stopper() {
        TestEngine.stop(engine);
    }

    @Arbiter
    public void arbiter(II_Result r) {
        r.r2 = (int) INT.getVolatile(region, ENGINE_SLEEPING);
    }
}
