package io.ferry.jcstress;

import static io.ferry.internal.Layout.TAIL_CLOSED;
import static io.ferry.jcstress.Regions.LONG;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.lang.foreign.MemorySegment;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Arbiter;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJJ_Result;

/**
 * Claim vs close: a producer is either rejected or gets a sequence the engine will still run.
 *
 * <p>Producer (the shipped {@code Ring.claimGetAndAdd(1)}): a volatile {@code getAndAdd} of the tail; a negative old value (bit 63,
 * CLOSED) means intake stopped. Closer: libferry's own {@code ferry_engine_stop} on a test engine ({@link TestEngine#stop}):
 * {@code atomic_fetch_or_explicit(tail, CLOSED, seq_cst)}, then it stores and returns {@code closed_at}; the engine runs exactly the sequences below {@code closed_at = old & ~CLOSED}, then
 * stops. The tail starts at 1 (one call already claimed), so a rejected producer and a sequence are told
 * apart from 0.
 *
 * <p>Result: r1 = the producer's sequence, or -1 if it saw CLOSED; r2 = closed_at; r3 (arbiter) = the
 * final tail without CLOSED, or -1 if CLOSED is not set (a rejected producer still advanced the tail,
 * so it is always CLOSED | 2).
 *
 * <p>FORBIDDEN: the producer accepted with a sequence &gt;= closed_at (the engine stops before running
 * it; its caller waits forever): (1, 1); rejected although closed_at counts its claim: (-1, 2); and any
 * lost update of the tail.
 */
@JCStressTest
@Description("Producer: Ring.claimGetAndAdd(1). Closer: libferry's ferry_engine_stop.")
@Outcome(id = "1, 2, 2", expect = ACCEPTABLE, desc = "Claim first: sequence 1 < closed_at 2, the engine runs it.")
@Outcome(id = "-1, 1, 2", expect = ACCEPTABLE, desc = "Close first: producer saw CLOSED and is rejected; closed_at 1.")
@Outcome(id = "1, 1, .*", expect = FORBIDDEN, desc = "Accepted a sequence at closed_at: the engine never runs it.")
@Outcome(id = "-1, 2, .*", expect = FORBIDDEN, desc = "Rejected although closed_at counts the claim: engine waits on it.")
@Outcome(expect = FORBIDDEN, desc = "A lost update of the tail or a value nobody writes.")
@State
public class ClaimVsClose {
    final MemorySegment region = Regions.newRegion();
    final io.ferry.internal.Ring ring = Regions.ring(region);
    final MemorySegment engine = TestEngine.newEngine(region);

    public ClaimVsClose() {
        LONG.set(region, io.ferry.internal.Layout.TAIL, 1L); // setup: one call claimed before
    }

    @Actor
    public void producer(JJJ_Result r) {
        long old = ring.claimGetAndAdd(1);
        r.r1 = old < 0 ? -1 : old;
    }

    @Actor
    public void closer(JJJ_Result r) {
        r.r2 = TestEngine.stop(engine);
    }

    @Arbiter
    public void arbiter(JJJ_Result r) {
        long tail = ring.tailVolatile();
        r.r3 = (tail & TAIL_CLOSED) != 0 ? tail & ~TAIL_CLOSED : -1;
    }
}
