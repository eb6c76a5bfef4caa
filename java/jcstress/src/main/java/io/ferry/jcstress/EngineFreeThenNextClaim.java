package io.ferry.jcstress;

import static io.ferry.internal.Layout.PHASE_PUBLISHED;
import static io.ferry.internal.Layout.SLOT_CTX;
import static io.ferry.internal.Layout.STATS_STARTED;
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
import org.openjdk.jcstress.infra.results.JJ_Result;

/**
 * Engine free / next claim, both sides the shipped code: the engine frees a slot as soon as it has taken
 * the call out of it, before it runs it, and the next lap's producer, which may then overwrite the slot,
 * never changes what the engine runs.
 *
 * <p>The call seq is PUBLISHED with ctx 7. Engine: libferry's own step ({@code ferry__run_slot}): plain
 * loads of the request, then an exchange (acq_rel) of FREE(seq + capacity); a release orders the loads
 * before it as well as the stores. It then runs the call, which on a test engine fails with
 * FERRY_E_CONTEXT and a message naming the context id it read. Next producer, which claimed seq +
 * capacity: the shipped {@code Ring.isFreeAcquire(seq + capacity)}; once it is true the producer owns the
 * slot and writes it with plain stores: here ctx 9, standing for every field of its call.
 *
 * <p>Result: r1 = the context id the engine's message names (7 or 9; -1 if none); r2 = 1 if the next
 * producer saw FREE(seq + capacity) and wrote, 0 if it saw the slot still held.
 *
 * <p>FORBIDDEN: r1 = 9: the engine ran with the next lap's data, the slot reused under its reader.
 */
@JCStressTest
@Description("Engine: libferry's ferry__run_slot (loads, then the free exchange). Next producer: Ring.isFreeAcquire, then plain stores.")
@Outcome(id = "7, 1", expect = ACCEPTABLE, desc = "Engine took its call; the next producer then took the slot.")
@Outcome(id = "7, 0", expect = ACCEPTABLE, desc = "Next producer saw the slot still held (it waits); engine took its call.")
@Outcome(id = "9, .*", expect = FORBIDDEN, desc = "The engine read the next lap's write: slot reused under its reader.")
@Outcome(expect = FORBIDDEN, desc = "No message, or one naming a context nobody wrote.")
@State
public class EngineFreeThenNextClaim {
    static final long OLD_CTX = 7, NEW_CTX = 9;

    final MemorySegment region = Regions.newRegion();
    final MemorySegment cell = Regions.newCell();
    final Ring ring = Regions.ring(region);
    final MemorySegment engine = TestEngine.newEngine(region);

    public EngineFreeThenNextClaim() {
        ring.write(SEQ, 0, 0, OLD_CTX, 0, 0, cell.address(), 0, 0);
        LONG.set(region, STATS_STARTED, SEQ);
        LONG.set(region, SLOT, state(SEQ, 0, PHASE_PUBLISHED));
    }

    @Actor
    public void engine() {
        TestEngine.step(engine, SEQ);
    }

    @Actor
    public void nextProducer(JJ_Result r) {
        if (ring.isFreeAcquire(SEQ + CAPACITY)) {
            LONG.set(region, SLOT + SLOT_CTX, NEW_CTX);
            r.r2 = 1;
        } else {
            r.r2 = 0; // not FREE(seq + capacity) yet: the producer would wait (Ring.isFreeAcquire again)
        }
    }

    @Arbiter
    public void arbiter(JJ_Result r) {
        String message = TestEngine.message(cell);
        r.r1 = message.contains("context id 0x7 ") ? OLD_CTX : message.contains("context id 0x9 ") ? NEW_CTX : -1;
        TestEngine.free(Ring.outPtrPlain(cell));
    }
}
