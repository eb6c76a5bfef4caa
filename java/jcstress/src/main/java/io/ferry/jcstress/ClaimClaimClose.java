package io.ferry.jcstress;

import static io.ferry.internal.Layout.TAIL_CLOSED;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.lang.foreign.MemorySegment;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJJJ_Result;

/**
 * Claim vs claim vs close: two producers claim sequences while intake stops (three actors).
 *
 * <p>jcstress runs a test only on a machine with at least as many CPUs as actors: on two CPUs this one
 * is skipped ("No scheduling is possible") and {@link ClaimVsClaim} plus {@link ClaimVsClose} cover the
 * two races pairwise.
 *
 * <p>Producers (the shipped {@code Ring.claimGetAndAdd(1)}): a volatile {@code getAndAdd} of the tail; a negative old value (bit 63,
 * CLOSED) means the engine no longer accepts calls. Closer: libferry's own {@code ferry_engine_stop} on a test engine ({@link TestEngine#stop}):
 * {@code atomic_fetch_or_explicit(tail, CLOSED, seq_cst)}, then it stores and returns {@code closed_at}; it accepts exactly the sequences below {@code closed_at = old & ~CLOSED}, runs them and
 * stops. The tail starts at 0 as after ferry_engine_start.
 *
 * <p>Result: r1, r2 = the sequence each producer got, or -1 if it saw CLOSED; r3 = closed_at;
 * r4 (arbiter) = the final tail without its CLOSED bit, or -1 if CLOSED is not set. A producer that saw
 * CLOSED still advanced the tail, so the final tail is always CLOSED | 2.
 *
 * <p>FORBIDDEN: two producers with the same sequence (two calls in one slot); a producer accepted with
 * a sequence &gt;= closed_at (the engine would stop before running it and its caller would wait
 * forever); a producer rejected although closed_at says its claim came first; any final tail but
 * CLOSED | 2. Everything not listed as acceptable below is forbidden.
 */
@JCStressTest
@Description("Producers: Ring.claimGetAndAdd(1) (x2). Closer: libferry's ferry_engine_stop.")
@Outcome(id = "0, 1, 2, 2", expect = ACCEPTABLE, desc = "Both producers claimed before the close: closed_at = 2.")
@Outcome(id = "1, 0, 2, 2", expect = ACCEPTABLE, desc = "Both producers claimed before the close (other order).")
@Outcome(id = "0, -1, 1, 2", expect = ACCEPTABLE, desc = "Producer 1 claimed 0, then the close, then producer 2 was rejected.")
@Outcome(id = "-1, 0, 1, 2", expect = ACCEPTABLE, desc = "Producer 2 claimed 0, then the close, then producer 1 was rejected.")
@Outcome(id = "-1, -1, 0, 2", expect = ACCEPTABLE, desc = "Close first: both producers rejected, closed_at = 0.")
@Outcome(id = {"0, 0, .*", "1, 1, .*"}, expect = FORBIDDEN, desc = "Two producers got the same sequence.")
@Outcome(expect = FORBIDDEN, desc = "A producer accepted at or past closed_at, rejected before it, or a lost increment.")
@State
public class ClaimClaimClose {
    final MemorySegment region = Regions.newRegion();
    final io.ferry.internal.Ring ring = Regions.ring(region);
    final MemorySegment engine = TestEngine.newEngine(region);

    private static long accepted(long old) {
        return old < 0 ? -1 : old;
    }

    @Actor
    public void producer1(JJJJ_Result r) {
        r.r1 = accepted(ring.claimGetAndAdd(1));
    }

    @Actor
    public void producer2(JJJJ_Result r) {
        r.r2 = accepted(ring.claimGetAndAdd(1));
    }

    @Actor
    public void closer(JJJJ_Result r) {
        r.r3 = TestEngine.stop(engine);
    }

    @Arbiter
    public void arbiter(JJJJ_Result r) {
        long tail = ring.tailVolatile();
        r.r4 = (tail & TAIL_CLOSED) != 0 ? tail & ~TAIL_CLOSED : -1;
    }
}
