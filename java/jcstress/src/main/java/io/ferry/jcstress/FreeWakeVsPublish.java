package io.ferry.jcstress;

import static io.ferry.internal.Layout.FLAG_FREE_WAKE;
import static io.ferry.internal.Layout.PHASE_FREE;
import static io.ferry.internal.Layout.PHASE_PUBLISHED;
import static io.ferry.jcstress.Regions.CAPACITY;
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
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * FREE_WAKE vs publish, both sides the shipped code: a producer waiting for the next lap of a slot whose
 * call is claimed but not yet published asks for a wake on the free state, and the publish keeps it, so
 * the engine's free that follows wakes the waiter (BackPressure depends on no poll for it).
 *
 * <p>The slot reads FREE(seq): its producer has claimed seq and is writing the call. Producer: the
 * shipped {@code Ring.publishVolatile(seq)} (a CAS that keeps FREE_WAKE). Waiter, which claimed seq +
 * capacity: the shipped {@code Ring.requestFreeWake(seq + capacity)} (a CAS of FREE_WAKE onto the previous
 * lap's state, free or published), then a re-read of the state, as BackPressure re-checks before it parks.
 *
 * <p>Result: r1 = 1 if the waiter's re-read shows its FREE_WAKE (it then parks and relies on the engine's
 * wake); r2 (arbiter) = 1 if the final state is PUBLISHED(seq) with FREE_WAKE.
 *
 * <p>FORBIDDEN: r1 = 1, r2 = 0: the publish dropped the flag the waiter relies on (a lost wake).
 */
@JCStressTest
@Description("Producer: Ring.publishVolatile. Waiter: Ring.requestFreeWake on the previous lap's free state.")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "The flag landed (before or after the publish) and the publish kept it.")
@Outcome(id = "1, 0", expect = FORBIDDEN, desc = "The publish dropped the waiter's FREE_WAKE: the engine's free would wake nobody.")
@Outcome(expect = FORBIDDEN, desc = "The waiter's flag never landed on a free or published previous lap, or a wrong final state.")
@State
public class FreeWakeVsPublish {
    final MemorySegment region = Regions.newRegion();
    final Ring ring = Regions.ring(region);

    public FreeWakeVsPublish() {
        LONG.set(region, SLOT, state(SEQ, 0, PHASE_FREE));
    }

    @Actor
    public void producer() {
        ring.publishVolatile(SEQ);
    }

    @Actor
    public void waiter(II_Result r) {
        ring.requestFreeWake(SEQ + CAPACITY);
        r.r1 = (ring.stateAcquire(SEQ) & FLAG_FREE_WAKE) != 0 ? 1 : 0;
    }

    @Arbiter
    public void arbiter(II_Result r) {
        long st = (long) LONG.getVolatile(region, SLOT);
        r.r2 = st == state(SEQ, FLAG_FREE_WAKE, PHASE_PUBLISHED) ? 1 : 0;
    }
}
