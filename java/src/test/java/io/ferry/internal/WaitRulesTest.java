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
    void aVirtualThreadBehindLongCallsParksAtOnce() {
        // One call ahead that takes the engine 100 µs (stats.call_ns): no spin can outlast that.
        assertTrue(WaitRules.virtualParksAtOnce(WaitRules.virtualExpectedNs(1, 100_000)));
        // Its own call alone is long.
        assertTrue(WaitRules.virtualParksAtOnce(WaitRules.virtualExpectedNs(0, 60_000)));
        // Many short calls ahead add up: 1,000 calls of 1 µs.
        assertTrue(WaitRules.virtualParksAtOnce(WaitRules.virtualExpectedNs(1_000, 1_000)));
    }

    @Test
    void aVirtualThreadBehindShortCallsSpinsAboutWhatTheyTake() {
        // 63 calls of the built-in add ahead (64 virtual threads): ~6.4 µs, worth a short wait.
        long expected = WaitRules.virtualExpectedNs(63, 100);
        assertEquals(6_400, expected);
        assertFalse(WaitRules.virtualParksAtOnce(expected));
        assertEquals(expected + WaitRules.VIRTUAL_SLACK_NS, BALANCED.virtualBudgetNs(expected));
        // Never beyond the policy's caller spin.
        assertEquals(20_000, BALANCED.virtualBudgetNs(45_000));
    }

    @Test
    void theVirtualRuleUsesTheMeasuredCallCostNotAGuess() {
        // Until the engine has measured call_ns (0), a call is reckoned MIN_CALL_NS.
        assertEquals(WaitRules.MIN_CALL_NS * 3, WaitRules.virtualExpectedNs(2, 0));
        // Once measured, the measurement counts: 3 calls of 20 µs park, 3 of 2 µs do not.
        assertTrue(WaitRules.virtualParksAtOnce(WaitRules.virtualExpectedNs(2, 20_000)));
        assertFalse(WaitRules.virtualParksAtOnce(WaitRules.virtualExpectedNs(2, 2_000)));
        // A stale started (ahead < 0) counts as no call ahead.
        assertEquals(WaitRules.virtualExpectedNs(0, 500), WaitRules.virtualExpectedNs(-5, 500));
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
