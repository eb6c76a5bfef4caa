package io.ferry.jcstress;

import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJJ_Result;

/**
 * Claim vs claim: two producers never get the same sequence.
 *
 * <p>Producers: the shipped {@code Ring.claimGetAndAdd(1)}, a volatile {@code getAndAdd} of the tail
 * (the C side's tail is a C11 {@code _Atomic uint64_t}). The tail starts at 0 as after ferry_engine_start.
 *
 * <p>Result: r1, r2 = the old tail each producer got; r3 (arbiter) = the final tail.
 *
 * <p>FORBIDDEN: r1 == r2 (two calls in one slot of one lap), and a final tail other than 2 (a lost
 * increment: the engine would wait forever on a sequence nobody claimed, or skip one).
 */
@JCStressTest
@Description("Producers: getAndAdd(tail, 1) (x2).")
@Outcome(id = {"0, 1, 2", "1, 0, 2"}, expect = ACCEPTABLE, desc = "Distinct sequences, tail advanced twice.")
@Outcome(id = {"0, 0, .*", "1, 1, .*"}, expect = FORBIDDEN, desc = "Two producers got the same sequence.")
@Outcome(expect = FORBIDDEN, desc = "A lost or extra increment.")
@State
public class ClaimVsClaim {
    final io.ferry.internal.Ring ring = Regions.ring(Regions.newRegion());

    @Actor
    public void producer1(JJJ_Result r) {
        r.r1 = ring.claimGetAndAdd(1);
    }

    @Actor
    public void producer2(JJJ_Result r) {
        r.r2 = ring.claimGetAndAdd(1);
    }

    @Arbiter
    public void arbiter(JJJ_Result r) {
        r.r3 = ring.tailVolatile();
    }
}
