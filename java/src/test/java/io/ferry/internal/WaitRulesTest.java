package io.ferry.internal;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.WaitPolicy;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The wait policy's decisions, as numbers in and decisions out (no timing). */
class WaitRulesTest {
    private static final WaitRules BALANCED = WaitRules.of(WaitPolicy.BALANCED);
    private static final WaitRules SPIN = WaitRules.of(WaitPolicy.LOWEST_LATENCY);

    @Test
    void presetsCarryTheirBudgetsAndOnlyTheAdaptiveOneStepsAside() {
        assertEquals(20_000, BALANCED.callerSpinNs);
        assertEquals(50_000, BALANCED.engineIdleSpinNs);
        assertTrue(BALANCED.adaptive);
        assertTrue(BALANCED.engineYieldAfterNs > 0 && BALANCED.enginePreemptedNs > 0 && BALANCED.stepAsideNs > 0);
        assertFalse(SPIN.adaptive);
        assertEquals(0, SPIN.engineYieldAfterNs + SPIN.enginePreemptedNs + SPIN.stepAsideNs,
                "a spinning policy sends the engine no yield, preemption or step-aside rule");
        WaitRules cpu = WaitRules.of(WaitPolicy.LOWEST_CPU);
        assertEquals(0, cpu.engineIdleSpinNs, "LOWEST_CPU: the engine sleeps at once");
    }

    @Test
    void aVirtualThreadParksAtOnceBehindQueuedCalls() {
        // One call queued ahead (stats.started one short of the calls before ours): park, however short.
        assertTrue(WaitRules.virtualParksAtOnce(1, 100));
        assertTrue(WaitRules.virtualParksAtOnce(63, 0));
        // Nothing queued ahead (the call before ours is running, or ours is): spin as a platform thread.
        assertFalse(WaitRules.virtualParksAtOnce(0, 100));
        assertFalse(WaitRules.virtualParksAtOnce(-1, 100), "a stale started counts as nothing queued");
    }

    @Test
    void aVirtualThreadParksWhereAPlatformThreadStartsYielding() {
        assertEquals(WaitRules.YIELD_AFTER_NS, WaitRules.virtualBudgetNs(SPIN.callerSpinNs));
        assertEquals(0, WaitRules.virtualBudgetNs(0), "stepping aside: one poll window, as a platform thread");
    }

    @Test
    void theVirtualRuleUsesTheMeasuredCallCostNotAGuess() {
        // Until the engine has measured call_ns (0), nothing says the call is long.
        assertFalse(WaitRules.virtualParksAtOnce(0, 0));
        // Once measured, the measurement counts: a 60 µs call parks at once, a 20 µs one spins.
        assertTrue(WaitRules.virtualParksAtOnce(0, 60_000));
        assertFalse(WaitRules.virtualParksAtOnce(0, 20_000));
    }

    @Test
    void theAdaptiveCallerWaitsForPickupAsLongAsTheCallsAheadTake() {
        assertEquals(WaitRules.PICKUP_NS, BALANCED.pickupNs(0, 0));
        assertEquals(WaitRules.PICKUP_NS + 10 * 3_000, BALANCED.pickupNs(10, 3_000));
        assertEquals(-1, SPIN.pickupNs(10, 3_000), "a spinning policy has no pickup check");
    }

    @Test
    void preemptionIsJudgedOnlyByTheAdaptivePolicy() {
        assertTrue(BALANCED.preempted(WaitRules.PREEMPTED_NS));
        assertFalse(BALANCED.preempted(2_000), "a normal poll window");
        assertFalse(SPIN.preempted(10_000_000));
    }

    @Test
    void callersSpinNoLongerWhileSteppingAside() {
        long now = 1_000_000_000L;
        assertEquals(20_000, BALANCED.callerBudgetNs(0, now), "not stepping aside");
        assertEquals(0, BALANCED.callerBudgetNs(now + 1, now), "stepping aside: one poll window, then park");
        assertEquals(20_000, BALANCED.callerBudgetNs(now - 1, now), "the step-aside period is over");
    }

    @Test
    void negativeBudgetsAreRefused() {
        org.junit.jupiter.api.Assertions.assertThrows(IllegalArgumentException.class,
                () -> new WaitPolicy.Adaptive(Duration.ofNanos(-1), Duration.ZERO));
    }
}
