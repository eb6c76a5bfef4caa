package io.ferry;

import static org.junit.jupiter.api.Assertions.assertTrue;

import io.ferry.child.ChildJvm;
import io.ferry.child.OutOfMemoryWhileWaitingForASlot;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** A producer that fails between its claim and its publish must not wedge the ring. */
class ClaimToPublishTest {

    @Test
    void anOutOfMemoryErrorWhileWaitingForASlotLeavesTheRingServingOthers() throws Exception {
        // JDK_JAVA_OPTIONS reaches the child's java launcher: a small heap, and no TLABs, so that once the
        // heap is full every allocation fails, the first one inside the producer's wait included.
        ChildJvm.Result r = ChildJvm.runUnder(List.of("env", "JDK_JAVA_OPTIONS=-Xmx48m -XX:-UseTLAB"),
                OutOfMemoryWhileWaitingForASlot.class, true, Duration.ofSeconds(90));
        List<String> marks = r.marks();
        assertTrue(marks.contains("c=5"), "a call after the failed producer was not served: " + r.describe());
        assertTrue(marks.contains("closed"), r.describe());
    }
}
