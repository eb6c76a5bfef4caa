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
import static org.openjdk.jcstress.annotations.Expect.FORBIDDEN;

import java.lang.foreign.MemorySegment;
import org.openjdk.jcstress.annotations.Actor;
import org.openjdk.jcstress.annotations.Description;
import org.openjdk.jcstress.annotations.JCStressTest;
import org.openjdk.jcstress.annotations.Outcome;
import org.openjdk.jcstress.annotations.State;
import org.openjdk.jcstress.infra.results.II_Result;

/**
 * The sleep protocol's Dekker pair, both sides the shipped code: no lost wake-up.
 *
 * <p>Producer: the shipped {@code Ring.publishVolatile} (a volatile CAS to PUBLISHED(seq)), then
 * {@code Ring.engineSleepingVolatile()}; it wakes the engine iff that is true. Engine: libferry's own
 * {@code ferry__sleep_announce} (through {@code ferry_test_sleep_announce}): a seq_cst store of
 * {@code sleeping = 1}, then seq_cst loads of the slot at head and of {@code closed_at}; it would sleep
 * iff it sees neither a call nor a stop.
 *
 * <p>Each side stores then loads the other's word: only a total order of the four accesses (seq_cst /
 * volatile, i.e. a StoreLoad barrier between the store and the load on each side) guarantees that one
 * side sees the other's store. {@link SleepWakeWithoutFenceNegative} shows the same pair with release /
 * acquire losing the wake-up.
 *
 * <p>Result: r1 = 1 if the producer saw the engine sleeping (it will wake it); r2 = 1 if the engine saw
 * the call (it runs it instead of sleeping), 0 if it would sleep.
 *
 * <p>FORBIDDEN: (0, 0): the producer does not wake the engine and the engine sleeps without seeing the
 * call, which then waits until some later call wakes the engine (a lost wake-up).
 */
@JCStressTest
@Description("Producer: Ring.publishVolatile, Ring.engineSleepingVolatile. Engine: libferry's ferry__sleep_announce.")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "Engine saw the call before sleeping; producer does not wake it.")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "Engine sleeps; producer saw sleeping=1 and wakes it.")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "Both saw each other: a spare wake-up, harmless.")
@Outcome(id = "0, 0", expect = FORBIDDEN, desc = "Lost wake-up: engine sleeps on a published call nobody wakes it for.")
@Outcome(expect = FORBIDDEN, desc = "A value neither side writes.")
@State
public class SleepWakeDekker {
    final MemorySegment region = Regions.newRegion();
    final io.ferry.internal.Ring ring = Regions.ring(region);
    final MemorySegment engine = TestEngine.newEngine(region);

    public SleepWakeDekker() {
        LONG.set(region, SLOT, state(SEQ, 0, PHASE_FREE));
    }

    @Actor
    public void producer(II_Result r) {
        ring.publishVolatile(SEQ);
        r.r1 = ring.engineSleepingVolatile() ? 1 : 0;
    }

    @Actor
    public void engine(II_Result r) {
        r.r2 = TestEngine.sleepAnnounce(engine, SEQ) == 1 ? 0 : 1;
    }
}
