package io.ferry.jcstress;

import static io.ferry.internal.Layout.ENGINE_SLEEPING;
import static io.ferry.jcstress.Regions.INT;
import static org.openjdk.jcstress.annotations.Expect.ACCEPTABLE;
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
 * Stop versus sleep, both sides libferry's own C code: no lost stop.
 *
 * <p>Engine ({@code ferry__sleep_announce}, through {@code ferry_test_sleep_announce}): seq_cst store of
 * {@code engine.sleeping = 1}, then seq_cst loads of the slot at head and of {@code closed_at}; it would
 * sleep iff it sees neither a call nor the stop. Stopper ({@code ferry_engine_stop}): seq_cst
 * {@code fetch_or} of the tail's CLOSED bit, seq_cst store of {@code closed_at}, then {@code
 * ferry_engine_wake}'s seq_cst exchange of {@code sleeping} with 0 (a futex wake if it was 1).
 *
 * <p>Result: r1 = 1 if the engine would sleep; r2 = {@code sleeping} after both (the arbiter): 0 if the
 * stopper's exchange came after the engine's announcement (it woke the engine), 1 if it came before (the
 * engine's store of 1 is the last one: nobody woke it).
 *
 * <p>FORBIDDEN: (1, 1): the engine sleeps without having seen the stop, and the stopper did not wake it:
 * ferry_engine_join would wait forever. {@link StopVsSleepWithoutFenceNegative} shows it happen once the
 * engine's accesses are relaxed.
 */
@JCStressTest
@Description("libferry: ferry__sleep_announce (seq_cst) against ferry_engine_stop; the engine never sleeps through the stop.")
@Outcome(id = "0, 0", expect = ACCEPTABLE, desc = "Engine saw the stop; the stopper's exchange cleared sleeping too.")
@Outcome(id = "0, 1", expect = ACCEPTABLE, desc = "Engine saw the stop; the stopper had exchanged before it announced.")
@Outcome(id = "1, 0", expect = ACCEPTABLE, desc = "Engine sleeps; the stopper saw it asleep and woke it.")
@Outcome(id = "1, 1", expect = FORBIDDEN, desc = "Lost stop: the engine sleeps through a stop nobody wakes it for.")
@Outcome(expect = FORBIDDEN, desc = "A value neither side writes.")
@State
public class StopVsSleep {
    final MemorySegment region = Regions.newRegion();
    final MemorySegment engine = TestEngine.newEngine(region);

    @Actor
    public void engine(II_Result r) {
        r.r1 = TestEngine.sleepAnnounce(engine, 0);
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
