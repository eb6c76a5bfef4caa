package io.ferry.jcstress;

import static io.ferry.internal.Layout.ENGINE_SLEEPING;
import static io.ferry.internal.Layout.PHASE_FREE;
import static io.ferry.internal.Layout.PHASE_PUBLISHED;
import static io.ferry.jcstress.Ring.INT;
import static io.ferry.jcstress.Ring.LONG;
import static io.ferry.jcstress.Ring.SEQ;
import static io.ferry.jcstress.Ring.SLOT;
import static io.ferry.jcstress.Ring.state;
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
 * The sleep protocol's Dekker pair: no lost wake-up.
 *
 * <p>Producer ({@code EngineCore.writeAndPublish}): {@code setVolatile} of the slot state to
 * PUBLISHED(seq), then {@code getVolatile} of {@code engine.sleeping}; it wakes the engine iff it reads
 * non-zero. Engine ({@code ferry__sleep}): {@code atomic_store_explicit(sleeping, 1, seq_cst)} then
 * {@code atomic_load_explicit(slot state, seq_cst)}, modelled as {@code setVolatile} / {@code
 * getVolatile}; it goes to sleep iff the slot is not PUBLISHED(head).
 *
 * <p>Each side stores then loads the other's word: only a total order of the four accesses (seq_cst /
 * volatile, i.e. a StoreLoad barrier between the store and the load on each side) guarantees that one
 * side sees the other's store. {@link SleepWakeWithoutFenceNegative} shows the same code with release /
 * acquire losing the wake-up.
 *
 * <p>Result: r1 = the sleeping word the producer read (0 = it will not wake the engine); r2 = 1 if the
 * engine saw the slot PUBLISHED (it runs the call instead of sleeping), 0 if it saw it FREE.
 *
 * <p>FORBIDDEN: (0, 0): the producer does not wake the engine and the engine sleeps without seeing the
 * call, which then waits until some later call wakes the engine (a lost wake-up).
 */
@JCStressTest
@Description("Producer: setVolatile(slot=PUBLISHED), getVolatile(sleeping). Engine: setVolatile(sleeping=1), getVolatile(slot).")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "Engine saw the call before sleeping; producer does not wake it.")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "Engine sleeps; producer saw sleeping=1 and wakes it.")
@Outcome(id = "1, 1", expect = ACCEPTABLE, desc = "Both saw each other: a spare wake-up, harmless.")
@Outcome(id = "0, 0", expect = FORBIDDEN, desc = "Lost wake-up: engine sleeps on a published call nobody wakes it for.")
@Outcome(expect = FORBIDDEN, desc = "A value neither side writes.")
@State
public class SleepWakeDekker {
    final MemorySegment region = Ring.newRegion();

    public SleepWakeDekker() {
        LONG.set(region, SLOT, state(SEQ, 0, PHASE_FREE));
    }

    @Actor
    public void producer(II_Result r) {
        LONG.setVolatile(region, SLOT, state(SEQ, 0, PHASE_PUBLISHED));
        r.r1 = (int) INT.getVolatile(region, ENGINE_SLEEPING);
    }

    @Actor
    public void engine(II_Result r) {
        INT.setVolatile(region, ENGINE_SLEEPING, 1);
        long st = (long) LONG.getVolatile(region, SLOT);
        r.r2 = st == state(SEQ, 0, PHASE_PUBLISHED) ? 1 : st == state(SEQ, 0, PHASE_FREE) ? 0 : -1;
    }
}
