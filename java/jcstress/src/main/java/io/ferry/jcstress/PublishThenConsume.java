package io.ferry.jcstress;

import static io.ferry.internal.Layout.PHASE_FREE;
import static io.ferry.internal.Layout.PHASE_PUBLISHED;
import static io.ferry.internal.Layout.SLOT_ARG0;
import static io.ferry.internal.Layout.SLOT_ARG1;
import static io.ferry.internal.Layout.SLOT_CTX;
import static io.ferry.internal.Layout.SLOT_OP;
import static io.ferry.jcstress.Regions.INT;
import static io.ferry.jcstress.Regions.LONG;
import static io.ferry.jcstress.Regions.SEQ;
import static io.ferry.jcstress.Regions.SLOT;
import static io.ferry.jcstress.Regions.state;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.lang.foreign.MemorySegment;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.JJJJ_Result;

/**
 * Publish/consume: a call's plain stores are visible to the engine once it sees the slot PUBLISHED.
 *
 * <p>Producer: the shipped {@code Ring.write} (plain stores of op, flags, ctx, arg0, arg1) then
 * {@code Ring.publishVolatile} (a volatile CAS to PUBLISHED(seq)). Engine ({@code ferry__drain} then
 * {@code ferry__run_slot}): {@code atomic_load_explicit(memory_order_acquire)} of the state, modelled
 * as {@code getAcquire}, then plain loads of the fields. The engine's side is a Java model here, not
 * libferry's step: the test must see what the engine read, and the real step reads op and arguments only
 * for a context that resolves, which a test engine has none of. The volatile store is at least a release, so
 * an acquire that reads it must see every store before it.
 *
 * <p>Result: r1 = 1 if the engine saw PUBLISHED(seq), 0 if it still saw FREE(seq); r2 = op,
 * r3 = arg0, r4 = arg1 as the engine read them (the producer writes 7, 42, 43; ctx too).
 *
 * <p>FORBIDDEN: r1 = 1 with any field other than 7, 42, 43: the engine would run a call with stale
 * arguments. When r1 = 0 the engine would not read the fields; any value is then acceptable.
 */
@JCStressTest
@Description("Producer: Ring.write, Ring.publishVolatile. Engine (model): getAcquire(state), plain loads.")
@Outcome(id = "1, 7, 42, 43", expect = ACCEPTABLE, desc = "Engine saw PUBLISHED and every argument.")
@Outcome(id = "0, -?\\d+, -?\\d+, -?\\d+", expect = ACCEPTABLE,
        desc = "Engine saw the slot still FREE: it does not read the arguments yet (values irrelevant).")
@Outcome(id = "1, .*", expect = FORBIDDEN, desc = "Engine saw PUBLISHED but stale arguments.")
@Outcome(expect = FORBIDDEN, desc = "Engine saw a state word that is neither FREE(seq) nor PUBLISHED(seq).")
@State
public class PublishThenConsume {
    static final int OP = 7;
    static final long ARG0 = 42, ARG1 = 43, CTX = 44;

    final MemorySegment region = Regions.newRegion();
    final io.ferry.internal.Ring ring = Regions.ring(region);

    public PublishThenConsume() {
        LONG.set(region, SLOT, state(SEQ, 0, PHASE_FREE));
    }

    @Actor
    public void producer() {
        ring.write(SEQ, OP, 0, CTX, ARG0, ARG1, 0, 0, 0);
        ring.publishVolatile(SEQ);
    }

    @Actor
    public void engine(JJJJ_Result r) {
        long st = (long) LONG.getAcquire(region, SLOT);
        r.r1 = st == state(SEQ, 0, PHASE_PUBLISHED) ? 1 : st == state(SEQ, 0, PHASE_FREE) ? 0 : -1;
        r.r2 = (int) INT.get(region, SLOT + SLOT_OP);
        r.r3 = (long) LONG.get(region, SLOT + SLOT_ARG0);
        r.r4 = (long) LONG.get(region, SLOT + SLOT_ARG1);
        if (r.r1 == 1 && (long) LONG.get(region, SLOT + SLOT_CTX) != CTX) {
            r.r2 = -2; // ctx stale: report it as a stale op so the outcome is forbidden
        }
    }
}
